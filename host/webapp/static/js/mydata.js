// 我的数据: a resident's copy of what Linli keeps about them (PIPL art. 45), saved as one JSON file.
// Each service answers for its own store, so the app asks all six side by side and a service that is
// down only leaves out its own part (recorded as {"error": …}); the rest still download.
import { call } from "./api.js";
import { L } from "./i18n.js";
import { $, busy, esc, problemText } from "./ui.js";

const PARTS = [
  ["accounts", "/api/accounts/me", "账户", "Account"],
  ["tickets", "/api/tickets/me/export", "报事", "Reports"],
  ["library", "/api/library/me/export", "借阅", "Loans"],
  ["notify", "/api/notify/me/export", "消息", "Messages"],
  ["activities", "/api/activities/me/export", "活动", "Activities"],
  ["volunteers", "/api/volunteers/me/export", "志愿服务", "Volunteering"],
];

export function section() {
  return `<section id="mydata" class="card" aria-labelledby="mydata-title">
      <h2 id="mydata-title">${L("我的数据", "My data")}</h2>
      <p>${L("下载邻里各项服务保存的您的信息（一个 JSON 文件）。", "Download what each Linli service keeps about you, as one JSON file.")}</p>
      <button type="button" id="mydata-download">${L("下载我的数据", "Download my data")}</button>
      <ul id="mydata-status" class="list" aria-live="polite" hidden></ul>
      <p class="hint">${L(
        "如需删除您的个人信息，请到社区居委会办公室申请，由工作人员为您办理。",
        "To have your personal data erased, ask at the community office; staff carry it out for you.",
      )}</p>
    </section>`;
}

/** Today's date in Beijing time, for the file's name. */
function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

async function gather() {
  const answers = await Promise.allSettled(PARTS.map(([, path]) => call(path)));
  const services = {};
  const failed = new Set();
  PARTS.forEach(([name], i) => {
    const a = answers[i];
    if (a.status === "fulfilled") {
      services[name] = a.value;
    } else {
      services[name] = { error: problemText(a.reason), status: a.reason?.status ?? null };
      failed.add(name);
    }
  });
  return [{ exported_at: new Date().toISOString(), services }, failed];
}

function save(doc) {
  const blob = new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = `linli-my-data-${today()}.json`;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function show(failed) {
  const list = $("#mydata-status");
  list.innerHTML = PARTS.map(([name, , zh, en]) => {
    const down = failed.has(name);
    return `<li data-service="${esc(name)}" class="${down ? "error" : "ok"}">${esc(L(zh, en))}${L("：", ": ")}${
      down ? L("暂不可用", "unavailable") : L("已包含", "included")
    }</li>`;
  }).join("");
  list.hidden = false;
}

export function wire() {
  const button = $("#mydata-download");
  button.addEventListener("click", async () => {
    busy(button, true);
    try {
      const [doc, failed] = await gather();
      show(failed);
      save(doc);
    } finally {
      busy(button, false);
    }
  });
}
