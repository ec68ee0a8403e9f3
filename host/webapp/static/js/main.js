// The shell: tabs by role, the hash router, the network state, and the service worker.
import { me, onSession, session } from "./api.js";
import { L, lang, setLang } from "./i18n.js";
import { currentTurn, esc, nextTurn, render } from "./ui.js";
import { flush, pending } from "./outbox.js";
import { start as startLive, refreshBadge } from "./live.js";
import * as account from "./account.js";
import * as resident from "./resident.js";
import * as staff from "./staff.js";
import * as volunteer from "./volunteer.js";

const ROUTES = [
  [/^\/signin$/, account.signin, true],
  [/^\/settings$/, account.settings],
  [/^\/inbox$/, account.inbox],
  [/^\/report$/, resident.report],
  [/^\/reports$/, resident.reports],
  [/^\/ticket\/([A-Za-z0-9_-]+)$/, resident.ticket],
  [/^\/library$/, resident.library],
  [/^\/activities$/, resident.activities],
  [/^\/staff$/, staff.queue],
  [/^\/staff\/ticket\/([A-Za-z0-9_-]+)$/, staff.ticket],
  [/^\/volunteer$/, volunteer.home],
  [/^\/visit\/([A-Za-z0-9_-]+)(?:\/([A-Za-z0-9_-]+))?$/, volunteer.log],
];

function tabs(who) {
  const list = [];
  if (who.has("resident") || !who.has("staff", "volunteer", "team_leader")) {
    list.push(["#/report", L("随手拍", "Report")], ["#/reports", L("我的报事", "My reports")], ["#/activities", L("活动", "Activities")], ["#/library", L("借阅", "Loans")]);
  }
  if (who.has("staff", "operator")) list.push(["#/staff", L("工单", "Work queue")]);
  if (who.has("volunteer", "team_leader")) list.push(["#/volunteer", L("走访", "Visits")]);
  list.push(["#/inbox", L("消息", "Inbox"), true]);
  return list;
}

function home(who) {
  if (who.has("staff", "operator")) return "#/staff";
  if (who.has("volunteer", "team_leader") && !who.has("resident")) return "#/volunteer";
  return "#/report";
}

function shell() {
  document.documentElement.lang = lang();
  document.documentElement.classList.toggle("large", localStorage.getItem("linli.large") === "1");
  document.documentElement.classList.toggle("contrast", localStorage.getItem("linli.contrast") === "1");
  const who = me();
  const nav = document.getElementById("tabs");
  document.getElementById("inbox-link").hidden = !who;
  document.getElementById("settings-link").hidden = !who;
  document.getElementById("settings-link").textContent = L("设置", "Settings");
  document.getElementById("inbox-label").textContent = L("消息", "Inbox");
  document.querySelector(".skip").textContent = L("跳到内容", "Skip to content");
  nav.setAttribute("aria-label", L("主导航", "Main"));
  if (!who) {
    nav.hidden = true;
    nav.innerHTML = "";
    return;
  }
  const here = location.hash || "#/";
  nav.hidden = false;
  nav.innerHTML = `<ul>${tabs(who)
    .map(([href, label, badge]) => `<li><a href="${href}"${here.startsWith(href) ? ' aria-current="page"' : ""}>${esc(label)}${badge ? ' <span class="badge" data-badge hidden></span>' : ""}</a></li>`)
    .join("")}</ul>`;
}

async function net() {
  const el = document.getElementById("net");
  const waiting = session() ? (await pending().catch(() => [])).length : 0;
  const parts = [];
  if (!navigator.onLine) parts.push(L("离线", "Offline"));
  if (waiting) parts.push(L(`${waiting} 条报事待发送`, `${waiting} report(s) waiting`));
  el.textContent = parts.join(" · ");
  el.classList.toggle("off", !navigator.onLine);
}

async function route() {
  const path = (location.hash || "#/").slice(1) || "/";
  const who = me();
  shell();
  if (!who && path !== "/signin") {
    location.replace("#/signin");
    return;
  }
  if (path === "/" || (who && path === "/signin")) {
    location.replace(home(who));
    return;
  }
  for (const [pattern, page, open] of ROUTES) {
    const m = path.match(pattern);
    if (m && (open || who)) {
      const turn = nextTurn();
      try {
        await page(...m.slice(1));
      } catch (error) {
        if (turn !== currentTurn()) return; // the resident has moved on: this page's elements are gone
        render(`<h1>${L("出错了", "Something went wrong")}</h1><p class="error">${esc(error.message || error)}</p>`);
      }
      if (turn === currentTurn()) document.getElementById("main").focus({ preventScroll: true });
      return;
    }
  }
  render(`<h1>${L("没有这个页面", "No such page")}</h1><p><a href="#/">${L("回首页", "Home")}</a></p>`);
}

window.addEventListener("hashchange", route);
window.addEventListener("online", net);
window.addEventListener("offline", net);
window.addEventListener("linli:outbox", net);
window.addEventListener("linli:lang", () => route());
onSession((s) => {
  shell();
  if (s) refreshBadge();
});

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});
}

setLang(lang());
if (session()) {
  startLive();
  refreshBadge();
  flush().catch(() => {});
}
net();
route();
