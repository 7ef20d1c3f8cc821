// The customer portal: file inputs become drop zones, and a severity can be suggested without leaving the form.
// Without this script each file input is a plain one and the suggestion comes back as the page.
"use strict";

function fileListOf(files) {
  const transfer = new DataTransfer();
  for (const file of files) transfer.items.add(file);
  return transfer.files;
}

function showChosen(zone, input) {
  const list = zone.querySelector(".dropzone-files");
  if (!list) return;
  list.replaceChildren();
  for (const file of input.files) {
    const item = document.createElement("li");
    item.textContent = `${file.name} (${file.size.toLocaleString()} bytes)`;
    list.append(item);
  }
}

function enhance(zone) {
  const input = zone.querySelector("input[type=file]");
  if (!input || typeof DataTransfer === "undefined") return;
  const hint = zone.querySelector(".dropzone-hint");
  if (hint) hint.hidden = false;
  input.addEventListener("change", () => showChosen(zone, input));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) zone.classList.remove("over");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (!event.dataTransfer || event.dataTransfer.files.length === 0) return;
    // Dropped files join those chosen already, as choosing more in the dialog would.
    input.files = fileListOf([...input.files, ...event.dataTransfer.files]);
    showChosen(zone, input);
    input.focus();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const zone of document.querySelectorAll("[data-dropzone]")) enhance(zone);
});

// Severity suggestion: "Suggest a severity" asks the desk (as JSON, with the form's CSRF token) for the level
// the subject and description suggest, and shows it with a button that chooses that level. Without this script
// the button sends the form back and the page shows the same suggestion. Nothing here ever submits a request.
function paragraph(text, className) {
  const element = document.createElement("p");
  if (className) element.className = className;
  element.textContent = text;
  return element;
}

function chooseSeverity(form, code) {
  const radio = [...form.querySelectorAll('input[name="severity"]')].find((input) => input.value === code);
  if (!radio) return;
  radio.checked = true;
  radio.focus();
}

function chooseButton(form, code) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = `Choose ${code}`;
  button.addEventListener("click", () => chooseSeverity(form, code));
  const holder = document.createElement("p");
  holder.append(button);
  return holder;
}

function showSuggestion(box, form, answer) {
  if (!answer.severity) {
    box.replaceChildren(paragraph(answer.reasons[0], "follow-up"));
    return;
  }
  const line = paragraph("Suggested: ", "follow-up");
  const level = document.createElement("strong");
  level.textContent = `${answer.severity} - ${answer.name}`;
  line.append(level, ` because it matches '${answer.matched}'`);
  box.replaceChildren(line, chooseButton(form, answer.severity));
}

async function askSuggestion(form, box, address) {
  const data = new FormData();
  for (const name of ["csrf", "subject", "description"]) {
    const input = form.elements.namedItem(name);
    if (input) data.append(name, input.value);
  }
  if (!String(data.get("subject") || "").trim() && !String(data.get("description") || "").trim()) {
    box.replaceChildren(paragraph("Write a subject or a description first, then ask for a suggestion.", "error"));
    return;
  }
  box.replaceChildren(paragraph("Looking for a suggestion…", "help"));
  const response = await fetch(address, {
    method: "POST",
    body: data,
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (response.status === 422) {
    box.replaceChildren(paragraph((await response.json()).detail, "error"));
    return;
  }
  if (!response.ok) throw new Error(`answered ${response.status}`);
  showSuggestion(box, form, await response.json());
}

function enhanceSuggestion(button) {
  const form = button.form;
  const box = document.getElementById("suggestion");
  if (!form || !box || typeof fetch === "undefined") return;
  const address = button.getAttribute("formaction");
  button.addEventListener("click", (event) => {
    event.preventDefault();
    askSuggestion(form, box, address).catch(() => {
      box.replaceChildren(paragraph("No suggestion could be had: reload the page and try again.", "error"));
    });
  });
  // Enter in a field submits the request, as it did before the suggestion's button came first in the form
  // (a browser sends a form by its first button); without this script Enter only asks for a suggestion.
  const submit = form.querySelector('button[type="submit"].primary');
  form.addEventListener("keydown", (event) => {
    const field = event.target;
    if (event.key !== "Enter" || !submit || !(field instanceof HTMLInputElement)) return;
    if (["button", "submit", "reset", "file"].includes(field.type)) return;
    event.preventDefault();
    form.requestSubmit(submit);
  });
  // A suggestion the page was sent with (asked for before this script ran) chooses its level here, too.
  for (const choose of box.querySelectorAll("[data-choose-severity]")) {
    choose.addEventListener("click", (event) => {
      event.preventDefault();
      chooseSeverity(form, choose.dataset.chooseSeverity);
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("suggest-severity");
  if (button) enhanceSuggestion(button);
});
