// The inbox, live: one EventSource on notify's stream for the whole app, the unread badge, and an event
// (linli:note) pages listen to (a report's page reloads when a message about it arrives).
import { accessToken, call, onSession } from "./api.js";
import { L } from "./i18n.js";

let source = null;
let retry = null;
let lastId = null; // a restarted stream (new token) resumes after the last message seen

export function unread(count) {
  const badge = document.getElementById("badge");
  const link = document.getElementById("inbox-link");
  if (!badge) return;
  badge.hidden = !count;
  badge.textContent = count > 99 ? "99+" : String(count || "");
  link.setAttribute("aria-label", count ? L(`消息，${count} 条未读`, `Messages, ${count} unread`) : L("消息", "Messages"));
  for (const tab of document.querySelectorAll("[data-badge]")) {
    tab.textContent = count ? String(count) : "";
    tab.hidden = !count;
  }
}

export async function refreshBadge() {
  try {
    const { unread: n } = await call("/api/notify/inbox/unread-count");
    unread(n);
  } catch {
    /* offline: the badge stays as it was */
  }
}

export function start() {
  stop();
  const token = accessToken();
  if (!token) return;
  const after = lastId ? `&after=${lastId}` : "";
  source = new EventSource(`/api/notify/inbox/stream?access_token=${encodeURIComponent(token)}${after}`);
  source.addEventListener("open", () => document.body.classList.add("live"));
  source.addEventListener("notification", (event) => {
    const note = JSON.parse(event.data);
    lastId = note.id;
    window.dispatchEvent(new CustomEvent("linli:note", { detail: note }));
    refreshBadge();
  });
  source.addEventListener("error", () => {
    document.body.classList.remove("live");
    if (source && source.readyState === EventSource.CLOSED) {
      clearTimeout(retry);
      retry = setTimeout(start, 3000); // e.g. the token ran out: the next try uses the refreshed one
    }
  });
}

export function stop() {
  clearTimeout(retry);
  if (source) source.close();
  source = null;
  document.body.classList.remove("live");
}

onSession((s) => (s ? start() : stop()));
