// Reports waiting to be sent: every 随手拍 goes through here. Kept in IndexedDB (with its photos) until Linli
// has answered, sent with the same Idempotency-Key and the same bytes each try, so a report written without a
// signal is filed once when the phone is online again, however often the send is retried.
import { accessToken, refresh, ApiError } from "./api.js";
import { lang } from "./i18n.js";

const DB = "linli-app";
const STORE = "outbox";
let flushing = null;

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "key" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const result = fn(t.objectStore(STORE));
    t.oncomplete = () => {
      db.close();
      resolve(result?.result ?? result);
    };
    t.onerror = () => reject(t.error);
  });
}

export async function pending() {
  return (await tx("readonly", (s) => s.getAll())) || [];
}

/** Keep a report: ``fields`` (form fields, attributes already named ``attribute[code]``) and photo Blobs. */
export async function keep(fields, photos) {
  const key = crypto.randomUUID();
  const item = { key, created: new Date().toISOString(), fields, photos: photos.map((f) => ({ blob: f, name: f.name || "photo.jpg", type: f.type || "image/jpeg" })) };
  await tx("readwrite", (s) => s.put(item));
  changed();
  return key;
}

async function drop(key) {
  await tx("readwrite", (s) => s.delete(key));
  changed();
}

function changed() {
  window.dispatchEvent(new CustomEvent("linli:outbox"));
}

function multipart(item) {
  const boundary = `----linli-${item.key}`;
  const parts = [];
  for (const [name, value] of Object.entries(item.fields)) {
    if (value === "" || value === null || value === undefined) continue;
    parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  }
  item.photos.forEach((p, i) => {
    const ext = p.type === "image/png" ? "png" : "jpg";
    parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="photo${i + 1}.${ext}"\r\nContent-Type: ${p.type}\r\n\r\n`);
    parts.push(p.blob, "\r\n");
  });
  parts.push(`--${boundary}--\r\n`);
  return { body: new Blob(parts), type: `multipart/form-data; boundary=${boundary}` };
}

async function sendOne(item, retried = false) {
  const { body, type } = multipart(item);
  const answer = await fetch("/api/tickets/tickets", {
    method: "POST",
    headers: { "Content-Type": type, "Idempotency-Key": item.key, Authorization: `Bearer ${accessToken()}`, Accept: "application/json", "Accept-Language": lang() },
    body,
  });
  if (answer.status === 401 && !retried) {
    await refresh();
    return sendOne(item, true);
  }
  const data = await answer.json().catch(() => ({}));
  if (answer.ok) return data;
  throw new ApiError(answer.status, data);
}

const RETRY = new Set([401, 408, 409, 425, 429, 500, 502, 503, 504]);

/** Send what waits, one at a time; stops at the first network failure (still offline). */
export function flush() {
  if (flushing) return flushing;
  flushing = (async () => {
    const sent = [];
    const refused = [];
    for (const item of await pending()) {
      if (!navigator.onLine) break;
      try {
        const ticket = await sendOne(item);
        await drop(item.key);
        sent.push({ key: item.key, ticket });
      } catch (error) {
        if (error instanceof ApiError && !RETRY.has(error.status)) {
          await drop(item.key); // refused for good (e.g. a field the category does not take): tell the user
          refused.push({ key: item.key, error });
        } else {
          break;
        }
      }
    }
    if (sent.length || refused.length) {
      window.dispatchEvent(new CustomEvent("linli:sent", { detail: { sent, refused } }));
    }
    return { sent, refused };
  })().finally(() => {
    flushing = null;
  });
  return flushing;
}

window.addEventListener("online", () => {
  if (accessToken()) flush();
});
