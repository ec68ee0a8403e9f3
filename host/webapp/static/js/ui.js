// Small helpers for the pages: escaped HTML, the main area, messages, forms.
import { L } from "./i18n.js";

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESC[c]);
}

export function main() {
  return document.getElementById("main");
}

// Every page the router opens takes a turn. A page still waiting on the network after the resident has moved on
// holds an earlier turn: given that turn, render refuses to draw over the page now shown, and the router drops
// whatever a page from an earlier turn throws (its elements are gone).
let turns = 0;

export function nextTurn() {
  turns += 1;
  return turns;
}

export function currentTurn() {
  return turns;
}

export class Stale extends Error {}

export function render(html, title, turn = turns) {
  if (turn !== turns) throw new Stale("a page from an earlier turn");
  const el = main();
  el.innerHTML = html;
  if (title) document.title = `${title} · 邻里 Linli`;
  return el;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $all(selector, root = document) {
  return [...root.querySelectorAll(selector)];
}

let toastTimer = null;
export function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.hidden = false;
  el.classList.add("on");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("on"), 4000);
}

export function problemText(error) {
  if (error && error.problem) {
    const p = error.problem;
    return p.detail || p.title || `${error.status}`;
  }
  if (error instanceof TypeError) return L("网络不可用，请稍后再试", "No network; try again later");
  return String(error && error.message ? error.message : error);
}

export function showError(target, error) {
  const el = typeof target === "string" ? $(target) : target;
  if (el) {
    el.textContent = problemText(error);
    el.hidden = false;
  } else {
    toast(problemText(error));
  }
}

export function formData(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) {
    if (typeof v === "string") out[k] = v.trim();
  }
  return out;
}

export function busy(button, on) {
  if (!button) return;
  button.disabled = on;
  button.setAttribute("aria-busy", on ? "true" : "false");
}
