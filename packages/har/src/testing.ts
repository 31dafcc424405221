/**
 * `@ddm/har/testing`: helpers for tests that replay HAR fixtures. Not part of the production
 * entry point (`@ddm/har`).
 */

/**
 * Rewrites every occurrence of an origin in a HAR's text, for tests that replay a fixture
 * recorded against `http://127.0.0.1:8080` on a server with another port. Replaces the origin
 * (`http://127.0.0.1:8080`) and then its bare authority (`127.0.0.1:8080`, as in Host and
 * `:authority` headers). Pure string replacement: the text need not be valid JSON.
 *
 * @throws {TypeError} when either argument is not an absolute URL.
 */
export function rewriteHarOrigin(text: string, fromOrigin: string, toOrigin: string): string {
  const from = new URL(fromOrigin);
  const to = new URL(toOrigin);
  return text.replaceAll(from.origin, to.origin).replaceAll(from.host, to.host);
}
