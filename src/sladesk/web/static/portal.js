// The customer portal: file inputs become drop zones. Without this script each is a plain file input.
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
