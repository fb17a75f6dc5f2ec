/**
 * The one access decision, used by REST (auth/middleware.ts), the WebSocket upgrade (routes/sync.ts) and
 * the document's object (its open sockets): what a client token's user may do on one document, from what
 * the token claims and the rule stored for that user and document (PUT /v1/docs/{id}/access/{userId}).
 *
 * | token claims | stored rule | the user may |
 * | --- | --- | --- |
 * | read or write | none | nothing (403; open sockets close with 4403) |
 * | read or write | read | read (a socket stays open; what it sends that would change the document is ignored) |
 * | read or write | write | read and write |
 * | read or write | (no rule) | what the token claims |
 *
 * The stored rule replaces the token's access for that document, both ways: it narrows a write token and
 * widens a read token. Removing the rule gives the decision back to the token. A token must still name the
 * document (its one id, or an id or prefix of its set): a rule never opens a document the token does not.
 */
import type { Access } from "../sync/ports";

/** What may be stored for a user and a document. */
export type Rule = Access | "none";
export const RULES: readonly Rule[] = ["read", "write", "none"];

/** A stored rule as D1 or storage gives it back; anything else counts as no rule. */
export function toRule(value: string | null | undefined): Rule | undefined {
  return value === "read" || value === "write" || value === "none" ? value : undefined;
}

/** What the user may do: the stored rule when there is one, else the token's claim. */
export function effectiveAccess(claim: Access, rule: Rule | undefined): Rule {
  return rule ?? claim;
}

export type Decision = { ok: true; access: Access } | { ok: false; message: string };

/** May the user do what `need` asks (read: any use; write: changing the document)? */
export function decide(claim: Access, rule: Rule | undefined, need: Access): Decision {
  const access = effectiveAccess(claim, rule);
  if (access === "none") return { ok: false, message: "this user's access to the document was removed" };
  if (need === "write" && access !== "write") {
    return { ok: false, message: rule === "read" ? "this user may only read this document" : "a read token cannot write" };
  }
  return { ok: true, access };
}
