/**
 * The signed-in API key, kept in sessionStorage only: it lives as long as this tab and is
 * never written to localStorage, a cookie or a URL.
 */
const KEY = "kiln.apiKey";
const ORG = "kiln.organization";

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  /** The organization a key of several acts for (X-Organization-ID); null for a key of one. */
  org: (): string | null => sessionStorage.getItem(ORG),
  signIn(key: string, org: string | null): void {
    sessionStorage.setItem(KEY, key);
    if (org) sessionStorage.setItem(ORG, org);
    else sessionStorage.removeItem(ORG);
  },
  signOut(): void {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(ORG);
  },
};
