import { ApiError, api } from "../api";
import { alertBox, fill, h } from "../dom";
import { navigate } from "../router";
import { session } from "../session";

/**
 * Signing in checks the key with one call (the first job of the list) before keeping it.
 * A key of several organizations is asked which one to act for.
 */
export function renderSignIn(main: HTMLElement, next: string, notice: string | null): void {
  const keyInput = h("input", { id: "api-key", name: "api-key", type: "password", autocomplete: "off", spellcheck: "false", required: true, "aria-describedby": "api-key-hint" });
  const orgField = h("p", { class: "field", hidden: true });
  const status = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Sign in");
  let orgSelect: HTMLSelectElement | null = null;

  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in to Kiln"),
    notice ? alertBox(notice, "info") : null,
    h("p", { class: "field" }, h("label", { for: "api-key" }, "API key"), keyInput),
    h("p", { id: "api-key-hint", class: "hint" }, "The key stays in this browser tab only (session storage) and is sent in the Authorization header. `npm start` prints the local one."),
    orgField,
    status,
    h("p", {}, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    const org = orgSelect?.value || null;
    submit.disabled = true;
    fill(status, h("p", { class: "hint" }, "Checking the key…"));
    try {
      await api("/v1/jobs?limit=1", { key, org });
      session.signIn(key, org);
      navigate(next.startsWith("#/") && !next.startsWith("#/sign-in") ? next : "#/");
    } catch (err) {
      const failure = err instanceof ApiError ? err : new ApiError(0, "error", String(err));
      if (failure.code === "organization_required" && !orgSelect) {
        const ids = ((failure.details as { organization_ids?: string[] } | undefined)?.organization_ids ?? []).map(String);
        orgSelect = h("select", { id: "organization", name: "organization", required: true }, ids.map((id) => h("option", { value: id }, id)));
        fill(orgField, h("label", { for: "organization" }, "Organization"), orgSelect);
        orgField.hidden = false;
        fill(status, alertBox("This key belongs to several organizations: choose one.", "info"));
        orgSelect.focus();
      } else if (failure.status === 401) {
        fill(status, alertBox(`This API key was not accepted: ${failure.message} (${failure.code}).`));
        keyInput.focus();
        keyInput.select();
      } else if (failure.status === 403) {
        // A valid key that may not list jobs can still open the jobs it may read.
        session.signIn(key, org);
        navigate(next);
      } else {
        fill(status, alertBox(`Could not check the key: ${failure.message} (${failure.code}).`));
      }
    } finally {
      submit.disabled = false;
    }
  });
  main.append(form);
  keyInput.focus();
}
