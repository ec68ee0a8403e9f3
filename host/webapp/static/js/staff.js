// Staff: the work queue by deadline (overdue first), one report's actions, the month's three rates.
import { call } from "./api.js";
import { L, monthNow, status, when } from "./i18n.js";
import { $, busy, currentTurn, esc, formData, render, showError, toast } from "./ui.js";
import { ticketHead, timeline } from "./resident.js";

function deadline(t) {
  // before the first response the clock that runs is the response one, after it the resolution one
  return t.status === "submitted" ? t.first_response_due : t.resolution_due;
}

function pct(value) {
  return value == null ? "—" : `${Math.round(value * 100)}%`;
}

function rates(rows) {
  const sum = (f) => rows.reduce((n, r) => n + f(r), 0);
  const total = sum((r) => r.total);
  const rated = sum((r) => r.rated);
  const weighted = (field, weight) => {
    const w = sum((r) => (r[field] == null ? 0 : weight(r)));
    return w ? sum((r) => (r[field] == null ? 0 : r[field] * weight(r))) / w : null;
  };
  return {
    total,
    response: weighted("response_within_deadline_rate", (r) => r.total),
    resolution: weighted("resolution_rate", (r) => r.total),
    satisfaction: rated ? weighted("satisfaction_rate", (r) => r.rated) : null,
  };
}

export async function queue() {
  render(`<h1>${L("工单", "Work queue")}</h1>
    <section id="rates" class="card rates" aria-labelledby="rates-h"><h2 id="rates-h">${L("本月三率", "This month's three rates")}</h2><dl></dl></section>
    <h2>${L("待处理（按期限，逾期在前）", "Open, by deadline (overdue first)")}</h2>
    <ol id="queue" class="list"></ol>`, L("工单", "Work queue"));
  const now = Date.now();
  const [page, kpis] = await Promise.all([
    call("/api/tickets/tickets?status=open&limit=200"),
    call(`/api/tickets/kpis?month=${monthNow()}`).catch(() => null),
  ]);
  const items = page.items
    .map((t) => ({ ...t, due: deadline(t) ? new Date(deadline(t)).getTime() : Infinity }))
    .sort((a, b) => Number(b.due < now) - Number(a.due < now) || a.due - b.due);
  $("#queue").innerHTML = items.length
    ? items
        .map((t) => `<li class="work${t.due < now ? " overdue" : ""}" data-id="${esc(t.id)}">
          <a href="#/staff/ticket/${esc(t.id)}"><strong>${esc(t.title)}</strong></a>
          <span class="pill s-${esc(t.status)}">${esc(status(t.status))}</span>
          <p class="meta">${t.due < now ? `<span class="late">${L("已逾期", "Overdue")}</span> · ` : ""}${L("期限", "Due")} ${esc(when(deadline(t)))} · ${esc(t.community || "")} ${esc(t.building ? L(`${t.building} 号楼`, `bldg ${t.building}`) : "")}${t.assignee ? ` · ${esc(t.assignee)}` : ""}</p></li>`)
        .join("")
    : `<li class="empty">${L("没有待处理的报事", "Nothing open")}</li>`;
  if (kpis) {
    const r = rates(kpis.rows.filter((row) => row.month === monthNow()));
    $("#rates dl").innerHTML = `<dt>${L("及时响应率", "Answered in time")}</dt><dd id="rate-response">${pct(r.response)}</dd>
      <dt>${L("办结率", "Resolved")}</dt><dd id="rate-resolution">${pct(r.resolution)}</dd>
      <dt>${L("满意率", "Satisfied")}</dt><dd id="rate-satisfaction">${pct(r.satisfaction)}</dd>
      <dt>${L("本月报事", "Reports this month")}</dt><dd>${r.total}</dd>`;
  }
}

export async function ticket(id) {
  const turn = currentTurn(); // drawn again after each action: never over a page opened since
  const draw = async () => {
    const t = await call(`/api/tickets/tickets/${id}`);
    const open = t.open;
    render(`<p><a href="#/staff">← ${L("工单", "Work queue")}</a></p>${ticketHead(t)}
      ${t.assignee ? `<p>${L("处理人", "Assignee")}：${esc(t.assignee)}</p>` : ""}
      ${open ? `<section class="card actions"><h2>${L("处理", "Act")}</h2>
        <form id="ack-form"${t.status === "submitted" ? "" : " hidden"}>
          <label for="ack-note">${L("回复居民（可选，不填则用模板）", "Reply to the resident (optional; else the template)")}</label>
          <textarea id="ack-note" name="note" maxlength="2000"></textarea>
          <button type="submit" id="ack">${L("受理", "Acknowledge")}</button>
        </form>
        <form id="assign-form"${t.status === "submitted" ? " hidden" : ""}>
          <label for="assignee">${L("指派给（留空则按值班轮派）", "Assign to (empty: next on duty)")}</label>
          <input id="assignee" name="assignee" maxlength="128">
          <button type="submit" class="secondary" id="assign">${L("指派", "Assign")}</button>
        </form>
        <form id="resolve-form"${t.status === "submitted" ? " hidden" : ""}>
          <label for="resolve-note">${L("办结说明", "What was done")}</label>
          <textarea id="resolve-note" name="note" maxlength="2000"></textarea>
          <label for="resolve-photo">${L("处理后照片", "Photo after the fix")}</label>
          <input id="resolve-photo" name="photo" type="file" accept="image/*" capture="environment">
          <button type="submit" id="resolve">${L("办结", "Resolve")}</button>
        </form></section>` : ""}
      <h2>${L("进展", "Progress")}</h2>${timeline(t)}
      <p id="staff-error" class="error" role="alert" hidden></p>`, t.title, turn);
    const act = (selector, fn) =>
      $(selector)?.addEventListener("submit", async (e) => {
        e.preventDefault();
        const button = $("button", e.target);
        busy(button, true);
        try {
          await fn(e.target);
          toast(L("已更新", "Updated"));
          await draw();
        } catch (error) {
          showError("#staff-error", error);
        } finally {
          busy(button, false);
        }
      });
    act("#ack-form", (form) => {
      const note = formData(form).note;
      return call(`/api/tickets/tickets/${id}/acknowledge`, { method: "POST", json: note ? { note } : { template: 0 } });
    });
    act("#assign-form", (form) => {
      const who = formData(form).assignee;
      return call(`/api/tickets/tickets/${id}/assign`, { method: "POST", json: who ? { assignee: who } : {} });
    });
    act("#resolve-form", (form) => {
      const data = new FormData();
      const note = formData(form).note;
      if (note) data.append("note", note);
      const file = $("#resolve-photo").files[0];
      if (file) data.append("photo", file);
      return call(`/api/tickets/tickets/${id}/resolve`, { method: "POST", form: data });
    });
  };
  await draw();
}
