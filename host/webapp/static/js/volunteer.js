// Volunteers (爱心敲门): my elders (only those paired with me), visits due this week, logging a visit.
import { call } from "./api.js";
import { L, status, when } from "./i18n.js";
import { $, $all, busy, currentTurn, esc, render, showError } from "./ui.js";

const TIERS = { high_risk: ["高风险", "High risk"], key: ["重点", "Priority"], general: ["一般", "General"] };
const CHECKS = {
  health_mood: ["身体与情绪", "Health and mood"],
  daily_needs: ["日常生活", "Daily needs"],
  family_contact: ["家人联系", "Family contact"],
  safety_water: ["用水安全", "Water safety"],
  safety_electricity: ["用电安全", "Electrical safety"],
  safety_gas: ["燃气安全", "Gas safety"],
  safety_heating: ["取暖安全", "Heating safety"],
  service_needs: ["服务需求", "Service needs"],
};
const RESULTS = { ok: ["正常", "Fine"], attention: ["需留意", "Watch"], problem: ["有问题", "Problem"], "n/a": ["不适用", "N/A"] };
const HAZARDS = { electricity: ["用电", "Electricity"], gas: ["燃气", "Gas"], water: ["用水", "Water"], heating: ["取暖", "Heating"], structure: ["房屋结构", "Structure"], other: ["其他", "Other"] };
const pick = (map, key) => (map[key] ? L(map[key][0], map[key][1]) : key);

export async function home() {
  render(`<h1>${L("爱心敲门", "Home visits")}</h1>
    <h2>${L("本周待走访", "Visits due this week")}</h2><ul id="due" class="list"></ul>
    <h2>${L("我结对的老人", "My elders")}</h2><ul id="elders" class="list"></ul>`, L("走访", "Visits"));
  const [visits, elders] = await Promise.all([call("/api/volunteers/my/visits?days=7&limit=50"), call("/api/volunteers/elders?limit=100")]);
  $("#due").innerHTML = visits.items.length
    ? visits.items
        .map((v) => `<li class="visit${v.overdue ? " overdue" : ""}"><p><strong>${esc(v.elder.name)}</strong> · ${esc(v.address)}</p>
          <p class="meta">${v.overdue ? `<span class="late">${L("已逾期", "Overdue")}</span> · ` : ""}${L("应于", "Due")} ${esc(when(v.due_at))} · ${esc(status(v.status))}</p>
          <a class="button" href="#/visit/${esc(v.elder.id)}/${esc(v.visit_id)}">${L("记录走访", "Log the visit")}</a></li>`)
        .join("")
    : `<li class="empty">${L("本周没有待走访", "No visits due this week")}</li>`;
  $("#elders").innerHTML = elders.items.length
    ? elders.items
        .map((e) => `<li class="elder"><p><strong>${esc(e.name)}</strong> · ${esc(pick(TIERS, e.tier))}${e.lives_alone ? ` · ${L("独居", "Lives alone")}` : ""}</p>
          <p class="meta">${esc([e.estate, L(`${e.building} 号楼 ${e.unit} 单元`, `bldg ${e.building}, unit ${e.unit}`)].filter(Boolean).join(" "))}</p>
          <a class="button secondary" href="#/visit/${esc(e.id)}">${L("记录走访", "Log a visit")}</a></li>`)
        .join("")
    : `<li class="empty">${L("还没有结对的老人", "No elders paired with you yet")}</li>`;
}

function hazardRow(i) {
  return `<fieldset class="hazard"><legend>${L(`隐患 ${i + 1}`, `Hazard ${i + 1}`)}</legend>
    <label for="hz-cat-${i}">${L("类别", "Kind")}</label>
    <select id="hz-cat-${i}" name="hz-cat">${Object.keys(HAZARDS).map((k) => `<option value="${k}">${esc(pick(HAZARDS, k))}</option>`).join("")}</select>
    <label for="hz-desc-${i}">${L("描述", "What you saw")}</label><input id="hz-desc-${i}" name="hz-desc" maxlength="500" required>
    <label for="hz-loc-${i}">${L("位置（如厨房）", "Where (e.g. kitchen)")}</label><input id="hz-loc-${i}" name="hz-loc" maxlength="100"></fieldset>`;
}

export async function log(elderId, visitId) {
  const turn = currentTurn();
  const elder = await call(`/api/volunteers/elders/${elderId}`);
  render(`<p><a href="#/volunteer">← ${L("走访", "Visits")}</a></p>
    <h1>${L("记录走访", "Log a visit")}：${esc(elder.name)}</h1>
    <form id="log-form" class="card" novalidate>
      <fieldset><legend>${L("方式", "How")}</legend>
        ${[["door", "上门", "At the door"], ["phone", "电话", "By phone"], ["video", "视频", "By video"]]
          .map(([v, zh, en], i) => `<label class="inline"><input type="radio" name="method" value="${v}"${i === 0 ? " checked" : ""}> ${L(zh, en)}</label>`)
          .join("")}
      </fieldset>
      <label for="minutes">${L("用时（分钟）", "Minutes")}</label>
      <input id="minutes" name="minutes" type="number" min="1" max="1440" value="30" inputmode="numeric" required>
      <fieldset class="checklist"><legend>${L("检查项", "Checklist")}</legend>
        ${Object.keys(CHECKS)
          .map((k) => `<label for="ck-${k}">${esc(pick(CHECKS, k))}</label><select id="ck-${k}" name="ck-${k}"><option value="">—</option>${Object.keys(RESULTS)
            .map((r) => `<option value="${esc(r)}">${esc(pick(RESULTS, r))}</option>`)
            .join("")}</select>`)
          .join("")}
      </fieldset>
      <div id="hazards"></div>
      <button type="button" id="add-hazard" class="secondary">${L("发现隐患，添加一条", "Add a hazard")}</button>
      <label for="notes">${L("备注", "Notes")}</label><textarea id="notes" name="notes" maxlength="2000"></textarea>
      <p id="log-error" class="error" role="alert" hidden></p>
      <button type="submit" id="save-log">${L("提交走访记录", "Save the visit")}</button>
    </form>
    <section id="logged" class="card" hidden aria-live="polite"></section>`, L("记录走访", "Log a visit"), turn);
  let n = 0;
  $("#add-hazard").addEventListener("click", () => {
    if (n >= 10) return;
    $("#hazards").insertAdjacentHTML("beforeend", hazardRow(n));
    $(`#hz-desc-${n}`).focus();
    n += 1;
  });
  $("#log-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    const checklist = {};
    for (const k of Object.keys(CHECKS)) if (form[`ck-${k}`].value) checklist[k] = form[`ck-${k}`].value;
    const hazards = $all("fieldset.hazard", form)
      .map((f) => ({ category: $("select", f).value, description: $("[name=hz-desc]", f).value.trim(), location: $("[name=hz-loc]", f).value.trim() || null }))
      .filter((h) => h.description);
    const body = { elder_id: elderId, method: form.method.value, minutes: Number(form.minutes.value), checklist, hazards, notes: form.notes.value.trim() };
    if (visitId) body.visit_id = visitId;
    busy($("#save-log"), true);
    try {
      const visit = await call("/api/volunteers/logs", { method: "POST", json: body });
      form.hidden = true;
      await showLogged(visit.id);
    } catch (error) {
      showError("#log-error", error);
    } finally {
      busy($("#save-log"), false);
    }
  });
}

async function showLogged(visitId) {
  const box = $("#logged");
  box.hidden = false;
  const draw = (v) => {
    box.innerHTML = `<h2>${L("走访已记录", "Visit logged")}</h2><p>${esc(status(v.status))}</p>
      ${v.hazards.length ? `<h3>${L("隐患", "Hazards")}</h3><ul class="list">${v.hazards
        .map((h) => `<li class="hazard-item">${esc(pick(HAZARDS, h.category))}：${esc(h.description)} ·
          ${h.ticket_id ? `<span class="ok ticketed">${L("已转为报修单", "Now a repair ticket")} ${esc(h.ticket_id)}</span>` : `<span class="meta">${L("正在转报修…", "Becoming a repair ticket…")}</span>`}</li>`)
        .join("")}</ul>` : ""}
      <p><a href="#/volunteer">${L("返回走访", "Back to visits")}</a></p>`;
  };
  let v = await call(`/api/volunteers/visits/${visitId}`);
  draw(v);
  // the ticket is opened by the tickets service from the visit's event, a moment later: look again briefly
  for (let i = 0; i < 30 && v.hazards.some((h) => !h.ticket_id) && document.body.contains(box); i += 1) {
    await new Promise((r) => setTimeout(r, 1000));
    v = await call(`/api/volunteers/visits/${visitId}`);
    draw(v);
  }
}
