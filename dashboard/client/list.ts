/**
 * The executions list's script: a click on a row opens it; the custom time range shows its
 * fields only when chosen; empty filters stay out of the URL; auto-refresh reloads the page every
 * 30 seconds while ticked (and the tab is visible).
 * @module
 */
for (const tr of document.querySelectorAll<HTMLTableRowElement>("tr.row")) {
  tr.addEventListener("click", (e) => {
    if ((e.target as Element).closest("a")) return;
    if (tr.dataset.href) location.href = tr.dataset.href;
  });
}

const form = document.getElementById("filters") as HTMLFormElement | null;
const range = form?.querySelector<HTMLSelectElement>("[name=range]");
if (form && range) {
  range.addEventListener("change", () => {
    for (const n of form.querySelectorAll<HTMLElement>(".custom-range")) {
      n.hidden = range.value !== "custom";
    }
  });
  form.addEventListener("submit", () => {
    const from = form.querySelector<HTMLInputElement>("[name=from]")?.value;
    const to = form.querySelector<HTMLInputElement>("[name=to]")?.value;
    for (const n of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>("input,select")) {
      if (!n.value) n.disabled = true;
    }
    if (from || to) range.value = "custom";
  });
}

const live = document.getElementById("auto-refresh") as HTMLInputElement | null;
if (form && live) {
  live.addEventListener("change", () => form.requestSubmit());
  if (live.checked) {
    setInterval(() => {
      if (document.visibilityState === "visible") location.reload();
    }, 30_000);
  }
}
