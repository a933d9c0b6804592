// Copy buttons beside one-time secrets (API keys, webhook secrets). Without script, or
// where the browser offers no clipboard, the button stays hidden and the secret is
// selected and copied by hand.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  if (!navigator.clipboard) return;
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = button.dataset.done;
    });
  }
});
