/**
 * Every page's script: the workspace switcher in the header.
 * @module
 */
document.getElementById("ws-switch")?.addEventListener("change", (e) => {
  const ws = (e.target as HTMLSelectElement).value;
  location.href = `/w/${encodeURIComponent(ws)}/issues`;
});
