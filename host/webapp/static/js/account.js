// Signing in (phone + one-time code), the inbox and the settings.
import { askCode, call, me, signIn, signOut } from "./api.js";
import { L, lang, setLang, when } from "./i18n.js";
import { $, $all, busy, esc, formData, render, showError, toast } from "./ui.js";
import { refreshBadge, unread } from "./live.js";
import * as mydata from "./mydata.js";

export async function signin() {
  render(
    `<h1>${L("登录邻里", "Sign in to Linli")}</h1>
    <form id="phone-form" class="card" novalidate>
      <label for="phone">${L("手机号", "Mobile number")}</label>
      <input id="phone" name="phone" type="tel" inputmode="numeric" autocomplete="tel" required maxlength="20">
      <button type="submit" id="ask">${L("获取验证码", "Send me a code")}</button>
    </form>
    <form id="code-form" class="card" hidden novalidate>
      <label for="code">${L("验证码（6 位数字）", "Code (6 digits)")}</label>
      <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="6" pattern="[0-9]{6}">
      <button type="submit" id="verify">${L("登录", "Sign in")}</button>
    </form>
    <p id="signin-error" class="error" role="alert" hidden></p>
    <p class="hint">${L("验证码以短信发送；开发环境可用 linli accounts last-code 查看。", "The code comes by SMS; on a development machine, linli accounts last-code shows it.")}</p>
    <p><button type="button" class="link" id="lang-switch" lang="${lang() === "en" ? "zh-CN" : "en"}">${lang() === "en" ? "中文" : "English"}</button></p>`,
    L("登录", "Sign in"),
  );
  let phone = "";
  $("#lang-switch").addEventListener("click", () => {
    setLang(lang() === "en" ? "zh-CN" : "en");
    window.dispatchEvent(new CustomEvent("linli:lang"));
  });
  $("#phone-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    phone = formData(e.target).phone;
    busy($("#ask"), true);
    try {
      await askCode(phone);
      $("#code-form").hidden = false;
      $("#signin-error").hidden = true;
      $("#code").focus();
      toast(L("验证码已发送", "A code is on its way"));
    } catch (error) {
      showError("#signin-error", error);
    } finally {
      busy($("#ask"), false);
    }
  });
  $("#code-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    busy($("#verify"), true);
    try {
      await signIn(phone, formData(e.target).code);
      location.hash = "#/";
    } catch (error) {
      showError("#signin-error", error);
    } finally {
      busy($("#verify"), false);
    }
  });
}

function noteItem(n) {
  return `<li class="note${n.read_at ? "" : " unread"}" data-id="${esc(n.id)}">
    <button type="button" class="note-open" aria-expanded="false">
      <span class="note-title">${esc(n.title)}</span>
      <time datetime="${esc(n.created_at)}">${esc(when(n.created_at))}</time>
      ${n.read_at ? "" : `<span class="dot">${L("未读", "unread")}</span>`}
    </button>
    <p class="note-body" hidden>${esc(n.body)}</p>
    ${n.subject && n.subject.startsWith("T") ? `<a href="#/ticket/${esc(n.subject)}">${L("查看报事", "Open the report")}</a>` : ""}
  </li>`;
}

export async function inbox() {
  render(`<h1>${L("我的消息", "My inbox")}</h1>
    <p class="live-state" aria-live="polite"><span class="live-on">${L("实时更新中", "Live")}</span></p>
    <p><button type="button" id="read-all" class="secondary">${L("全部标为已读", "Mark all read")}</button></p>
    <ul id="notes" class="list"></ul>`, L("消息", "Inbox"));
  const list = $("#notes");
  const page = await call("/api/notify/inbox?limit=50");
  list.innerHTML = page.items.length ? page.items.map(noteItem).join("") : `<li class="empty">${L("暂无消息", "No messages yet")}</li>`;
  list.addEventListener("click", async (e) => {
    const button = e.target.closest(".note-open");
    if (!button) return;
    const li = button.closest("li");
    const body = $(".note-body", li);
    body.hidden = !body.hidden;
    button.setAttribute("aria-expanded", String(!body.hidden));
    if (li.classList.contains("unread")) {
      await call(`/api/notify/inbox/${li.dataset.id}/read`, { method: "POST" }).catch(() => {});
      li.classList.remove("unread");
      $(".dot", li)?.remove();
      refreshBadge();
    }
  });
  $("#read-all").addEventListener("click", async () => {
    await call("/api/notify/inbox/read-all", { method: "POST" });
    $all("li.unread", list).forEach((li) => {
      li.classList.remove("unread");
      $(".dot", li)?.remove();
    });
    unread(0);
  });
  const onNote = (e) => {
    if (!document.body.contains(list)) return window.removeEventListener("linli:note", onNote);
    $(".empty", list)?.remove();
    list.insertAdjacentHTML("afterbegin", noteItem(e.detail));
  };
  window.addEventListener("linli:note", onNote);
}

export async function settings() {
  const who = me();
  render(`<h1>${L("设置", "Settings")}</h1>
    <p>${esc(who.name || who.sub)}</p>
    <form id="display" class="card">
      <fieldset><legend>${L("语言", "Language")}</legend>
        <label class="inline"><input type="radio" name="lang" value="zh-CN"${lang() === "zh-CN" ? " checked" : ""}> 中文</label>
        <label class="inline"><input type="radio" name="lang" value="en"${lang() === "en" ? " checked" : ""}> English</label>
      </fieldset>
      <fieldset><legend>${L("显示", "Display")}</legend>
        <label class="inline"><input type="checkbox" id="large"${localStorage.getItem("linli.large") === "1" ? " checked" : ""}> ${L("大字", "Large text")}</label>
        <label class="inline"><input type="checkbox" id="contrast"${localStorage.getItem("linli.contrast") === "1" ? " checked" : ""}> ${L("高对比度", "High contrast")}</label>
      </fieldset>
    </form>
    <form id="prefs" class="card">
      <h2>${L("通知", "Notifications")}</h2>
      <fieldset><legend>${L("免打扰时段", "Quiet hours")}</legend>
        <label for="quiet_start">${L("开始", "From")}</label><input id="quiet_start" name="quiet_start" type="time">
        <label for="quiet_end">${L("结束", "Until")}</label><input id="quiet_end" name="quiet_end" type="time">
      </fieldset>
      <h3>${L("接收渠道", "Channels")}</h3>
      <ul id="channels" class="list"></ul>
      <label for="channel">${L("添加渠道（Apprise 地址，如 mailto://…）", "Add a channel (an Apprise URL such as mailto://…)")}</label>
      <input id="channel" name="channel" maxlength="1000" inputmode="url">
      <button type="submit">${L("保存", "Save")}</button>
      <p id="prefs-error" class="error" role="alert" hidden></p>
    </form>
    ${mydata.section()}
    <p><button type="button" id="signout" class="secondary">${L("退出登录", "Sign out")}</button></p>`, L("设置", "Settings"));
  mydata.wire();
  let prefs = null;
  try {
    prefs = await call("/api/notify/preferences");
    $("#quiet_start").value = prefs.quiet_hours?.start || "";
    $("#quiet_end").value = prefs.quiet_hours?.end || "";
    $("#channels").innerHTML = prefs.channels.length
      ? prefs.channels.map((c) => `<li>${esc(c.name)}</li>`).join("")
      : `<li class="empty">${L("仅应用内消息", "In-app messages only")}</li>`;
  } catch (error) {
    showError("#prefs-error", error);
  }
  $all("input[name=lang]").forEach((r) =>
    r.addEventListener("change", async () => {
      setLang(r.value);
      await call("/api/notify/preferences", { method: "PUT", json: { language: r.value } }).catch(() => {});
      window.dispatchEvent(new CustomEvent("linli:lang"));
    }),
  );
  for (const id of ["large", "contrast"]) {
    $(`#${id}`).addEventListener("change", (e) => {
      localStorage.setItem(`linli.${id}`, e.target.checked ? "1" : "0");
      document.documentElement.classList.toggle(id, e.target.checked);
    });
  }
  $("#prefs").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = formData(e.target);
    const body = { timezone: "Asia/Shanghai", language: lang() };
    if (f.quiet_start && f.quiet_end) Object.assign(body, { quiet_start: f.quiet_start, quiet_end: f.quiet_end });
    if (f.channel) body.channels = [...(prefs?.channels || []).map((c) => ({ url: c.url, name: c.name })), { url: f.channel }];
    try {
      prefs = await call("/api/notify/preferences", { method: "PUT", json: body });
      toast(L("已保存", "Saved"));
      settings();
    } catch (error) {
      showError("#prefs-error", error);
    }
  });
  $("#signout").addEventListener("click", async () => {
    await signOut();
    location.hash = "#/signin";
  });
}
