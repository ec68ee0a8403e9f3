// Chinese first, English on request: every string is written as L("中文", "English") where it is used.
const KEY = "linli.lang";

export function lang() {
  return localStorage.getItem(KEY) === "en" ? "en" : "zh-CN";
}

export function setLang(value) {
  localStorage.setItem(KEY, value === "en" ? "en" : "zh-CN");
  document.documentElement.lang = lang();
}

export function L(zh, en) {
  return lang() === "en" ? en : zh;
}

const ZONE = "Asia/Shanghai"; // times are stored in UTC and shown as the residents live them

export function when(iso, withYear = false) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  const opts = { timeZone: ZONE, month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false };
  if (withYear) opts.year = "numeric";
  return new Intl.DateTimeFormat(lang() === "en" ? "en-GB" : "zh-CN", opts).format(d);
}

export function day(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(lang() === "en" ? "en-GB" : "zh-CN", {
    timeZone: ZONE, year: "numeric", month: "numeric", day: "numeric", weekday: "short",
  }).format(new Date(iso));
}

export function monthNow() {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit" }).formatToParts(new Date());
  return `${parts.find((p) => p.type === "year").value}-${parts.find((p) => p.type === "month").value}`;
}

export const STATUS = {
  submitted: ["已提交", "Submitted"],
  acknowledged: ["已受理", "Acknowledged"],
  assigned: ["已派单", "Assigned"],
  in_progress: ["处理中", "In progress"],
  resolved: ["已办结", "Resolved"],
  closed: ["已关闭", "Closed"],
  reopened: ["已重新打开", "Reopened"],
  confirmed: ["已报名", "Confirmed"],
  waitlisted: ["候补中", "On the waitlist"],
  offered: ["有空位，请确认", "A place is offered"],
  cancelled: ["已取消", "Cancelled"],
  declined: ["已放弃", "Declined"],
  due: ["待走访", "Due"],
  scheduled: ["待走访", "Scheduled"],
  overdue: ["已逾期", "Overdue"],
  done: ["已走访", "Done"],
  missed: ["已错过", "Missed"],
  open: ["待处理", "Open"],
  ticket_opened: ["已转报修", "Became a repair ticket"],
};

export function status(code) {
  const pair = STATUS[code];
  return pair ? L(pair[0], pair[1]) : code;
}
