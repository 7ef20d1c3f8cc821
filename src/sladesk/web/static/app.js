// sladesk pages: small progressive enhancements, no framework. Every page works without this script;
// it adds live countdowns, keyboard shortcuts and live updates.
"use strict";

// Countdowns: <time class="countdown" datetime="2026-12-07T15:00:00Z"> reads "in 2 h 05 min" or "12 min ago".
function durationWords(totalSeconds) {
  const s = Math.abs(Math.round(totalSeconds));
  const days = Math.floor(s / 86400), hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60), seconds = s % 60;
  if (days) return hours ? `${days} day${days === 1 ? "" : "s"} ${hours} h` : `${days} day${days === 1 ? "" : "s"}`;
  if (hours) return `${hours} h ${String(minutes).padStart(2, "0")} min`;
  if (minutes) return `${minutes} min`;
  return `${seconds} s`;
}

function tickCountdowns() {
  const now = Date.now();
  for (const element of document.querySelectorAll("time.countdown[datetime]")) {
    const due = Date.parse(element.getAttribute("datetime"));
    if (Number.isNaN(due)) continue;
    const left = (due - now) / 1000;
    element.textContent = left >= 0 ? `in ${durationWords(left)}` : `${durationWords(left)} ago`;
  }
}

// Keyboard shortcuts: elements with data-shortcut="r" are clicked or focused on that key; "?" lists them.
function shortcutTargets() {
  return [...document.querySelectorAll("[data-shortcut]")];
}

function typing(event) {
  const target = event.target;
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
  if (event.key === "?") {
    const help = document.getElementById("shortcuts");
    if (help && typeof help.showModal === "function") { help.showModal(); event.preventDefault(); }
    return;
  }
  const target = shortcutTargets().find((element) => element.dataset.shortcut === event.key);
  if (!target) return;
  event.preventDefault();
  if (["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) target.focus();
  else target.click();
}

// Live updates: <body data-live="/events/..."> listens to server-sent events and reloads the marked regions
// (data-live-region) when the server says something changed, keeping what the person is typing. When every
// region was swapped, the forms' version fields move to the fresh version too (the person now sees what
// changed); a region kept because it has the focus leaves them at the version read, so a change sent from
// it meets the conflict page instead of overwriting what the person did not see.
function announce(text) {
  const status = document.getElementById("live-status");
  if (status) status.textContent = text;
}

async function refreshRegions() {
  const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  let kept = 0;
  for (const region of document.querySelectorAll("[data-live-region]")) {
    const replacement = fresh.getElementById(region.id);
    if (!replacement) continue;
    if (region.contains(document.activeElement)) { kept += 1; continue; }
    region.replaceWith(replacement);
  }
  const freshVersion = fresh.querySelector('input[name="version"]');
  if (freshVersion && kept === 0) {
    for (const input of document.querySelectorAll('input[name="version"]')) input.value = freshVersion.value;
  }
  tickCountdowns();
  const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  announce(kept === 0 ? `Updated at ${time}.` : `Changed by someone else at ${time}: reload the page to see all of it.`);
  document.dispatchEvent(new CustomEvent("sladesk:updated"));
}

function liveUpdates() {
  const source = document.body.dataset.live;
  if (!source || typeof EventSource === "undefined") return;
  const events = new EventSource(source);
  events.addEventListener("changed", () => { refreshRegions().catch(() => announce("Could not refresh: reload the page.")); });
  // A stream ends every half minute and the browser connects again; if it cannot (signed out, server
  // gone for good), it gives up and the page says so.
  events.addEventListener("error", () => {
    if (events.readyState === EventSource.CLOSED) announce("Live updates stopped: reload the page to resume them.");
  });
}

// A confirmation (`?done=...`) is shown once: the address loses it, so a reload or a bookmark does not repeat it.
function forgetConfirmation() {
  const url = new URL(window.location.href);
  if (!url.searchParams.has("done")) return;
  url.searchParams.delete("done");
  window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
}

document.addEventListener("DOMContentLoaded", () => {
  forgetConfirmation();
  tickCountdowns();
  setInterval(tickCountdowns, 1000);
  document.addEventListener("keydown", onKey);
  liveUpdates();
});
