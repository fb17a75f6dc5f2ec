/**
 * Who this tab is: a random friendly name and colour, kept per tab (sessionStorage) so two windows of one
 * browser show up as two people, the way the Liveblocks and y-sweet demos behave.
 */
const ADJECTIVES = ["Amber", "Brave", "Calm", "Clever", "Gentle", "Jolly", "Keen", "Lucky", "Quiet", "Swift", "Witty", "Sunny"];
const ANIMALS = ["Otter", "Heron", "Fox", "Lynx", "Panda", "Koala", "Falcon", "Badger", "Dolphin", "Wren", "Yak", "Marten"];
/** Colours that read well as text backgrounds at 20 % and as carets at full strength, in light and dark mode. */
export const COLORS = ["#e5484d", "#f76b15", "#ffb224", "#30a46c", "#12a594", "#0090ff", "#5b5bd6", "#8e4ec6", "#d6409f", "#ab6400"];

export interface Identity {
  userId: string;
  name: string;
  color: string;
  colorLight: string;
}

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;

function remembered(key: string, make: () => string): string {
  const existing = sessionStorage.getItem(key);
  if (existing) return existing;
  const value = make();
  sessionStorage.setItem(key, value);
  return value;
}

export function identity(): Identity {
  const userId = remembered("lattice.userId", () => `user-${crypto.randomUUID().slice(0, 8)}`);
  const name = remembered("lattice.name", () => `${pick(ADJECTIVES)} ${pick(ANIMALS)}`);
  const color = remembered("lattice.color", () => pick(COLORS));
  return { userId, name, color, colorLight: `${color}33` };
}

export function rename(name: string): void {
  sessionStorage.setItem("lattice.name", name);
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] ?? "?") + (parts[1]?.[0] ?? "")).toUpperCase();
}
