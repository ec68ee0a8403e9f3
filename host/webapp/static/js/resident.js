// Residents: 随手拍, my reports and one report (live), loans and holds, activities and sign-ups.
import { call, me } from "./api.js";
import { L, day, lang, status, when } from "./i18n.js";
import { $, $all, busy, currentTurn, esc, formData, render, showError, toast } from "./ui.js";
import { flush, keep, pending } from "./outbox.js";
import qrcode from "../vendor/qrcode.mjs";

const NEARBY_M = 300; // how far an open report of the same category counts as "nearby"

function distance(a, b) {
  const R = 6371000;
  const rad = (x) => (x * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}

function attributeInput(def) {
  const id = `attr-${def.code}`;
  const name = `attribute[${def.code}]`;
  const label = `<label for="${esc(id)}">${esc(def.description || def.code)}${def.required ? ` <span class="req">${L("（必填）", "(required)")}</span>` : ""}</label>`;
  const req = def.required ? " required" : "";
  if (def.datatype === "singlevaluelist") {
    return `${label}<select id="${esc(id)}" name="${esc(name)}"${req}><option value="">${L("请选择", "Choose")}</option>${def.values
      .map((v) => `<option value="${esc(v.key)}">${esc(v.name)}</option>`)
      .join("")}</select>`;
  }
  if (def.datatype === "multivaluelist") {
    return `<fieldset><legend>${esc(def.description || def.code)}</legend>${def.values
      .map((v, i) => `<label class="inline"><input type="checkbox" name="${esc(name)}" value="${esc(v.key)}" id="${esc(id)}-${i}"> ${esc(v.name)}</label>`)
      .join("")}</fieldset>`;
  }
  if (def.datatype === "text") return `${label}<textarea id="${esc(id)}" name="${esc(name)}" maxlength="2000"${req}></textarea>`;
  const type = def.datatype === "number" ? "number" : def.datatype === "datetime" ? "datetime-local" : "text";
  return `${label}<input id="${esc(id)}" name="${esc(name)}" type="${type}" maxlength="200"${req}>`;
}

export async function report() {
  const who = me();
  render(`<h1>${L("随手拍", "Report a problem")}</h1>
    <form id="report-form" class="card" novalidate>
      <label for="photo">${L("照片（最多 6 张）", "Photos (up to 6)")}</label>
      <input id="photo" name="photo" type="file" accept="image/*" capture="environment" multiple>
      <div id="previews" class="previews"></div>
      <label for="category">${L("类别", "Category")}</label>
      <select id="category" name="category" required><option value="">${L("请选择", "Choose")}</option></select>
      <div id="attributes"></div>
      <label for="title">${L("标题", "Title")}</label>
      <input id="title" name="title" required maxlength="200">
      <label for="description">${L("描述", "What is wrong")}</label>
      <textarea id="description" name="description" required maxlength="4000"></textarea>
      <fieldset><legend>${L("位置", "Where")}</legend>
        <p id="geo" class="hint" aria-live="polite">${L("正在获取位置…", "Finding your location…")}</p>
        <button type="button" id="locate" class="secondary">${L("使用当前位置", "Use my location")}</button>
        <label for="building">${L("楼号（定位不可用时选择）", "Building (when location is not available)")}</label>
        <input id="building" name="building" maxlength="32" list="buildings">
        <datalist id="buildings"></datalist>
        <label for="unit">${L("单元", "Unit")}</label>
        <input id="unit" name="unit" maxlength="32">
      </fieldset>
      <section id="nearby" class="nearby" hidden aria-live="polite">
        <h2>${L("附近已有类似报事，关注它？", "Similar open reports nearby: follow one instead?")}</h2>
        <ul class="list"></ul>
      </section>
      <p id="report-error" class="error" role="alert" hidden></p>
      <button type="submit" id="send">${L("提交", "Send")}</button>
    </form>
    <section id="waiting" class="card" hidden></section>`, L("随手拍", "Report"));

  const form = $("#report-form");
  const state = { position: null, categories: [] };
  let home = null;
  call("/api/accounts/me")
    .then((person) => {
      home = person.household;
      if (home) {
        $("#building").value ||= home.building || "";
        $("#unit").value ||= home.unit || "";
        $("#buildings").innerHTML = `<option value="${esc(home.building)}">`;
      }
    })
    .catch(() => {});

  try {
    let items;
    try {
      items = (await call("/api/tickets/categories?limit=200")).items;
      localStorage.setItem("linli.categories", JSON.stringify(items)); // 随手拍 must work without a signal
    } catch (error) {
      items = JSON.parse(localStorage.getItem("linli.categories") || "null");
      if (!items) throw error;
    }
    const page = { items };
    state.categories = page.items;
    $("#category").insertAdjacentHTML(
      "beforeend",
      page.items.map((c) => `<option value="${esc(c.code)}">${esc(lang() === "en" && c.name_en ? c.name_en : c.name)}</option>`).join(""),
    );
  } catch (error) {
    showError("#report-error", error);
  }

  const locate = () => {
    if (!("geolocation" in navigator)) {
      $("#geo").textContent = L("此设备不能定位，请填写楼号", "No location on this device: give the building");
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        state.position = { lat: pos.coords.latitude, lon: pos.coords.longitude };
        $("#geo").textContent = L(`已定位（约 ${Math.round(pos.coords.accuracy)} 米）`, `Located (about ${Math.round(pos.coords.accuracy)} m)`);
        $("#geo").dataset.located = "1";
        nearby();
      },
      () => {
        $("#geo").textContent = L("未能定位，请填写楼号", "Location not available: give the building");
      },
      { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 },
    );
  };
  $("#locate").addEventListener("click", locate);
  locate();

  $("#photo").addEventListener("change", (e) => {
    const files = [...e.target.files].slice(0, 6);
    $("#previews").innerHTML = files.map((f, i) => `<img alt="${L(`照片 ${i + 1}`, `Photo ${i + 1}`)}" data-i="${i}">`).join("");
    $all("#previews img").forEach((img, i) => (img.src = URL.createObjectURL(files[i])));
  });

  $("#category").addEventListener("change", () => {
    const cat = state.categories.find((c) => c.code === $("#category").value);
    const defs = [...(cat?.attributes || [])].sort((a, b) => (a.order || 0) - (b.order || 0));
    $("#attributes").innerHTML = defs.filter((d) => d.variable !== false).map(attributeInput).join("");
    nearby();
  });

  async function nearby() {
    const code = $("#category").value;
    const box = $("#nearby");
    if (!code || !navigator.onLine) return;
    let found = [];
    try {
      const open = await call(`/open311/v2/requests.json?service_code=${encodeURIComponent(code)}&status=open`, { anonymous: true });
      found = open
        .map((r) => ({ ...r, m: state.position && r.lat != null ? distance(state.position, { lat: r.lat, lon: r.long }) : null }))
        .filter((r) => r.m !== null && r.m <= NEARBY_M)
        .sort((a, b) => a.m - b.m)
        .slice(0, 5);
    } catch {
      return;
    }
    box.hidden = !found.length;
    $("ul", box).innerHTML = found
      .map((r) => `<li><p><strong>${esc(r.service_name)}</strong> · ${esc(status(r.status))} · ${L(`约 ${Math.round(r.m)} 米`, `about ${Math.round(r.m)} m`)}</p>
        <p>${esc((r.description || "").slice(0, 80))}</p>
        <button type="button" class="secondary follow" data-id="${esc(r.service_request_id)}">${L("关注它", "Follow it")}</button></li>`)
      .join("");
  }

  $("#nearby").addEventListener("click", async (e) => {
    const button = e.target.closest("button.follow");
    if (!button) return;
    try {
      await call(`/api/tickets/tickets/${button.dataset.id}/follow`, { method: "POST" });
      button.replaceWith(Object.assign(document.createElement("span"), { className: "ok", textContent: L("已关注，有进展会通知您", "Following: you will hear of its progress") }));
    } catch (error) {
      showError("#report-error", error);
    }
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const fields = {
      category: f.get("category"),
      title: String(f.get("title") || "").trim(),
      description: String(f.get("description") || "").trim(),
      community: home?.community || who.communities[0] || "",
      building: String(f.get("building") || "").trim(),
      unit: String(f.get("unit") || "").trim(),
    };
    if (!fields.category || !fields.title || !fields.description) {
      showError("#report-error", new Error(L("请选择类别并填写标题和描述", "Choose a category and give a title and a description")));
      return;
    }
    if (state.position) Object.assign(fields, { lat: state.position.lat.toFixed(6), lon: state.position.lon.toFixed(6) });
    const multi = {};
    for (const [k, v] of f.entries()) {
      if (!k.startsWith("attribute[") || v === "") continue;
      if (form.querySelector(`input[type=checkbox][name="${CSS.escape(k)}"]`)) (multi[k] ||= []).push(v);
      else fields[k] = v;
    }
    for (const [k, values] of Object.entries(multi)) fields[k] = values.join(",");
    const photos = [...$("#photo").files].slice(0, 6);
    busy($("#send"), true);
    try {
      const key = await keep(fields, photos);
      const { sent, refused } = await flush();
      const mine = sent.find((s) => s.key === key);
      const bad = refused.find((r) => r.key === key);
      if (mine) {
        toast(L("已提交", "Sent"));
        location.hash = `#/ticket/${mine.ticket.id}`;
      } else if (bad) {
        showError("#report-error", bad.error);
      } else {
        form.reset();
        $("#previews").innerHTML = "";
        await showWaiting();
      }
    } catch (error) {
      showError("#report-error", error);
    } finally {
      busy($("#send"), false);
    }
  });

  async function showWaiting() {
    const items = await pending();
    const box = $("#waiting");
    if (!box) return;
    box.hidden = !items.length;
    box.innerHTML = `<h2>${L("待发送", "Waiting to be sent")}</h2>
      <p>${L("已保存在手机上，联网后自动发送。", "Kept on this phone; it is sent as soon as you are online.")}</p>
      <ul class="list">${items.map((i) => `<li class="queued">${esc(i.fields.title)}</li>`).join("")}</ul>`;
  }
  const onSent = (e) => {
    if (!document.body.contains(form)) return window.removeEventListener("linli:sent", onSent);
    showWaiting();
    for (const s of e.detail.sent) {
      $("#waiting").insertAdjacentHTML("afterend", `<p class="ok sent" role="status">${L("已发送", "Sent")}：<a href="#/ticket/${esc(s.ticket.id)}">${esc(s.ticket.title)}</a></p>`);
    }
  };
  window.addEventListener("linli:sent", onSent);
  showWaiting();
}

export async function reports() {
  render(`<h1>${L("我的报事", "My reports")}</h1><ul id="mine" class="list"></ul>`, L("我的报事", "My reports"));
  const page = await call("/api/tickets/tickets?limit=50");
  $("#mine").innerHTML = page.items.length
    ? page.items
        .map((t) => `<li><a href="#/ticket/${esc(t.id)}"><strong>${esc(t.title)}</strong></a>
          <span class="pill s-${esc(t.status)}">${esc(status(t.status))}</span>
          <span class="meta">${esc(when(t.created_at))}</span></li>`)
        .join("")
    : `<li class="empty">${L("还没有报事", "No reports yet")} · <a href="#/report">${L("随手拍", "Report one")}</a></li>`;
}

const ACTIONS = {
  open: ["提交报事", "Reported"],
  acknowledge: ["已受理", "Acknowledged"],
  assign: ["已派单", "Assigned"],
  start: ["开始处理", "Work started"],
  resolve: ["已办结", "Resolved"],
  close: ["已关闭", "Closed"],
  withdraw: ["已撤回", "Withdrawn"],
  rate: ["已评价", "Rated"],
  reopen: ["重新打开", "Reopened"],
  auto_close: ["自动关闭", "Closed automatically"],
  escalate: ["已升级", "Escalated"],
  booked: ["已预约小修小补", "Repair booked"],
};

export function timeline(t) {
  return `<ol class="timeline">${t.history
    .map((h) => {
      const a = ACTIONS[h.action];
      return `<li><p><strong>${esc(a ? L(a[0], a[1]) : h.action)}</strong> <time datetime="${esc(h.at)}">${esc(when(h.at))}</time></p>
        ${h.note ? `<p class="reply">${esc(h.note)}</p>` : ""}
        ${(h.photos || []).map((p, i) => `<img src="${esc(p)}" alt="${L(`处理照片 ${i + 1}`, `Photo ${i + 1}`)}" class="thumb">`).join("")}</li>`;
    })
    .join("")}</ol>`;
}

function reportPhotos(t) {
  // the resident's own photos head the page; staff's (after the fix) stay on their timeline entry
  const opened = (t.history || []).find((h) => h.action === "open");
  return opened && opened.photos ? opened.photos : t.photos || [];
}

export function ticketHead(t) {
  const overdue = t.first_response_due && !t.acknowledged_at && new Date(t.first_response_due) < new Date();
  return `<h1>${esc(t.title)}</h1>
    <p><span id="status" class="pill s-${esc(t.status)}" aria-live="polite">${esc(status(t.status))}</span> · ${esc(t.category_name)} · <span class="meta">${esc(t.id)}</span></p>
    <dl class="facts">
      <dt>${L("承诺首次响应", "First response promised by")}</dt><dd id="promise"${overdue ? ' class="late"' : ""}>${esc(when(t.first_response_due))}${t.acknowledged_at ? ` · ${L("已于", "answered")} ${esc(when(t.acknowledged_at))}${L(" 响应", "")}` : ""}</dd>
      <dt>${L("承诺办结", "Resolution promised by")}</dt><dd>${esc(when(t.resolution_due))}</dd>
      <dt>${L("位置", "Where")}</dt><dd>${esc([t.community, t.building && L(`${t.building} 号楼`, `building ${t.building}`), t.address].filter(Boolean).join(" · ") || "—")}</dd>
    </dl>
    <p>${esc(t.description)}</p>
    ${reportPhotos(t).map((p, i) => `<img src="${esc(p)}" alt="${L(`报事照片 ${i + 1}`, `Report photo ${i + 1}`)}" class="photo">`).join("")}`;
}

export async function ticket(id) {
  const turn = currentTurn(); // drawn again on each note: never over a page opened since
  const draw = async () => {
    const t = await call(`/api/tickets/tickets/${id}`);
    const mine = t.view === "full" && t.reporter === me().sub;
    render(`${ticketHead(t)}
      <p class="live-state"><span class="live-on">${L("状态实时更新", "Status updates live")}</span></p>
      <h2>${L("进展", "Progress")}</h2>${timeline(t)}
      ${t.rating ? `<p class="ok">${L(`您的评价：${t.rating} 星`, `Your rating: ${t.rating} stars`)}${t.rating_comment ? ` · ${esc(t.rating_comment)}` : ""}</p>` : ""}
      ${mine && t.status === "resolved" ? `
      <form id="rate" class="card"><h2>${L("确认并评价", "Confirm and rate")}</h2>
        <fieldset class="stars"><legend>${L("满意度", "How satisfied are you?")}</legend>
          ${[1, 2, 3, 4, 5].map((n) => `<label class="inline"><input type="radio" name="rating" value="${n}"${n === 5 ? " checked" : ""}> ${n} ${L("星", n === 1 ? "star" : "stars")}</label>`).join("")}
        </fieldset>
        <label for="comment">${L("留言（可选）", "Comment (optional)")}</label><textarea id="comment" name="comment" maxlength="1000"></textarea>
        <button type="submit">${L("确认解决", "Confirm it is fixed")}</button></form>
      <form id="reopen" class="card"><h2>${L("没解决？", "Not fixed?")}</h2>
        <label for="reopen-comment">${L("说明原因", "Tell us why")}</label><textarea id="reopen-comment" name="comment" required maxlength="1000"></textarea>
        <button type="submit" class="secondary">${L("重新打开", "Reopen")}</button></form>` : ""}
      <p id="ticket-error" class="error" role="alert" hidden></p>`, t.title, turn);
    $("#rate")?.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = formData(e.target);
      try {
        await call(`/api/tickets/tickets/${id}/rate`, { method: "POST", json: { rating: Number(f.rating), comment: f.comment || null } });
        toast(L("感谢您的评价", "Thank you for rating"));
        await draw();
      } catch (error) {
        showError("#ticket-error", error);
      }
    });
    $("#reopen")?.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await call(`/api/tickets/tickets/${id}/reopen`, { method: "POST", json: { comment: formData(e.target).comment } });
        await draw();
      } catch (error) {
        showError("#ticket-error", error);
      }
    });
  };
  await draw();
  const here = location.hash;
  const onNote = (e) => {
    if (location.hash !== here) return window.removeEventListener("linli:note", onNote);
    if (e.detail.subject === id) draw().catch(() => {});
  };
  window.addEventListener("linli:note", onNote);
}

export async function library() {
  render(`<h1>${L("我的借阅", "My loans")}</h1><div id="lib"></div>`, L("借阅", "Loans"));
  let mine;
  try {
    mine = await call("/api/library/readers/me");
  } catch (error) {
    if (error.status === 404) {
      $("#lib").innerHTML = `<p>${L("您还没有读者证：带身份证到任一漂流书屋办理。", "You have no reader card yet: bring your ID card to any book house.")}</p>`;
      return;
    }
    throw error;
  }
  const branches = await call("/api/library/branches?limit=50").then((p) => p.items).catch(() => []);
  $("#lib").innerHTML = `<p>${L("读者证", "Card")} ${esc(mine.card)}${mine.overdue ? ` · <span class="late">${L(`${mine.overdue} 本逾期`, `${mine.overdue} overdue`)}</span>` : ""}</p>
    <h2>${L("在借", "On loan")}</h2>
    <ul class="list">${mine.loans.length ? mine.loans.map((l) => `<li data-loan="${esc(l.id)}"><strong>${esc(l.barcode)}</strong>
      <span class="due">${L("应还", "Due")} ${esc(day(l.due_at))}</span> · ${L(`已续借 ${l.renewals} 次`, `renewed ${l.renewals}×`)}
      <button type="button" class="secondary renew">${L("续借", "Renew")}</button></li>`).join("") : `<li class="empty">${L("没有在借的书", "Nothing on loan")}</li>`}</ul>
    <h2>${L("预约", "Holds")}</h2>
    <ul class="list">${mine.holds.length ? mine.holds.map((h) => `<li>${esc(h.isbn)} · ${esc(h.pickup_branch)} · ${esc(h.status)}</li>`).join("") : `<li class="empty">${L("没有预约", "No holds")}</li>`}</ul>
    <h2>${L("在哪里还", "Where to return")}</h2>
    <p>${L("可在任一漂流书屋归还：", "Return at any book house:")}</p>
    <ul class="list">${branches.filter((b) => b.floating || b.institution).map((b) => `<li>${esc(b.name)}${b.address ? ` · ${esc(b.address)}` : ""}</li>`).join("")}</ul>
    <p id="lib-error" class="error" role="alert" hidden></p>`;
  $("#lib").addEventListener("click", async (e) => {
    const button = e.target.closest("button.renew");
    if (!button) return;
    const li = button.closest("li");
    try {
      const r = await call(`/api/library/loans/${li.dataset.loan}/renew`, { method: "POST" });
      $(".due", li).textContent = `${L("应还", "Due")} ${day(r.due_at)}`;
      toast(L("已续借", "Renewed"));
    } catch (error) {
      showError("#lib-error", error);
    }
  });
}

function qr(text) {
  const code = qrcode(0, "M");
  code.addData(text);
  code.make();
  return code.createSvgTag({ cellSize: 6, margin: 2, scalable: true, alt: L("签到二维码", "Check-in QR code") });
}

function signupItem(s) {
  return `<li class="signup" data-status="${esc(s.status)}"><p><strong>${esc(s.title)}</strong> · ${esc(when(s.starts_at))}</p>
    <p>${esc(s.participant)} · <span class="pill s-${esc(s.status)}">${esc(status(s.status))}</span>
    ${s.status === "waitlisted" && s.waiting_ahead != null ? `<span class="ahead">${L(`前面还有 ${s.waiting_ahead} 人`, `${s.waiting_ahead} ahead of you`)}</span>` : ""}</p>
    ${s.checkin_code ? `<figure class="qr">${qr(s.checkin_code)}<figcaption>${L("签到码", "Check-in code")} <code>${esc(s.checkin_code)}</code></figcaption></figure>` : ""}</li>`;
}

export async function activities() {
  const who = me();
  const community = who.communities[0] || "";
  render(`<h1>${L("社区活动", "Activities")}</h1>
    <h2>${L("我的报名", "My sign-ups")}</h2><ul id="signups" class="list"></ul>
    <h2>${L("近期活动", "Coming up")}</h2><ul id="acts" class="list"></ul>
    <h2>${L("小修小补", "Repair workshop")}</h2><ul id="repairs" class="list"></ul>
    <p id="act-error" class="error" role="alert" hidden></p>`, L("活动", "Activities"));
  const drawMine = async () => {
    const mine = await call("/api/activities/signups/mine?limit=50");
    $("#signups").innerHTML = mine.items.length ? mine.items.map(signupItem).join("") : `<li class="empty">${L("还没有报名", "No sign-ups yet")}</li>`;
  };
  await drawMine();
  const drawActs = async () => {
  const acts = await call(`/api/activities/activities?community=${encodeURIComponent(community)}&limit=30`);
  $("#acts").innerHTML = acts.items.length
    ? acts.items
        .map((a) => `<li class="activity" data-id="${esc(a.id)}"><p><strong>${esc(a.title)}</strong> · ${esc(when(a.starts_at))}${a.venue_name ? ` · ${esc(a.venue_name)}` : ""}</p>
        <p class="meta">${L(`余 ${a.places_left} / ${a.capacity} 位`, `${a.places_left} of ${a.capacity} places left`)}${a.waitlisted ? L(` · 候补 ${a.waitlisted} 人`, ` · ${a.waitlisted} waiting`) : ""}${a.min_age || a.max_age ? L(` · ${a.min_age || 0}–${a.max_age || "∞"} 岁`, ` · ages ${a.min_age || 0}–${a.max_age || "∞"}`) : ""}</p>
        <form class="signup-form">
          <label for="p-${esc(a.id)}">${L("参加者姓名（如孩子）", "Who takes part (e.g. your child)")}</label>
          <input id="p-${esc(a.id)}" name="participant" required maxlength="64">
          <label for="age-${esc(a.id)}">${L("年龄", "Age")}</label>
          <input id="age-${esc(a.id)}" name="age" type="number" min="0" max="120" inputmode="numeric">
          <label class="inline"><input type="checkbox" name="guardian" checked> ${L("家长陪同", "A parent comes along")}</label>
          <button type="submit">${a.places_left > 0 ? L("报名", "Sign up") : L("排队候补", "Join the waitlist")}</button>
        </form></li>`)
        .join("")
    : `<li class="empty">${L("近期没有活动", "Nothing coming up")}</li>`;
  };
  await drawActs();
  $("#acts").addEventListener("submit", async (e) => {
    e.preventDefault();
    const li = e.target.closest("li.activity");
    const f = formData(e.target);
    const button = $("button", e.target);
    busy(button, true);
    try {
      const s = await call(`/api/activities/activities/${li.dataset.id}/signups`, {
        method: "POST",
        json: { participant: f.participant, age: f.age ? Number(f.age) : null, guardian: e.target.guardian.checked },
      });
      toast(s.status === "waitlisted" ? L("已加入候补", "You are on the waitlist") : L("报名成功", "Signed up"));
      await Promise.all([drawMine(), drawActs()]);
    } catch (error) {
      showError("#act-error", error);
    } finally {
      busy(button, false);
    }
  });
  const sessions = await call(`/api/activities/repair-sessions?community=${encodeURIComponent(community)}&limit=10`).catch(() => ({ items: [] }));
  $("#repairs").innerHTML = sessions.items.length
    ? sessions.items.map((r) => `<li>${esc(r.artisan_name)} · ${esc(r.trades.join("、"))} · ${esc(when(r.starts_at))} · ${esc(r.place)} · ${L(`余 ${r.left} 位`, `${r.left} left`)}</li>`).join("")
    : `<li class="empty">${L("近期没有小修小补", "No repair sessions coming up")}</li>`;
}
