// The app's service worker: the shell from the network when there is one, from the cache when the phone is
// offline (so 随手拍 opens without a signal and keeps the report until it can be sent). APIs are never cached.
const CACHE = "linli-app-v1";
const SHELL = [
  "/app/", "/app/app.css", "/app/manifest.json", "/app/icon-192.png",
  "/app/js/main.js", "/app/js/api.js", "/app/js/i18n.js", "/app/js/ui.js", "/app/js/outbox.js", "/app/js/live.js",
  "/app/js/resident.js", "/app/js/staff.js", "/app/js/volunteer.js", "/app/js/account.js", "/app/js/mydata.js",
  "/app/vendor/qrcode.mjs",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith("/app/")) {
    return; // the APIs go straight to Linli
  }
  event.respondWith(
    fetch(event.request)
      .then((answer) => {
        if (answer.ok) {
          const copy = answer.clone();
          caches.open(CACHE).then((c) => c.put(event.request, copy));
        }
        return answer;
      })
      .catch(async () => (await caches.match(event.request)) || (await caches.match("/app/"))),
  );
});
