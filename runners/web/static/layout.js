// Which tile goes where (no DOM): the grid, or the speaker layout with one main tile and a strip.
// A pinned tile wins; then a screen share; then, in the speaker layout, the active speaker.
//
// A tile is {key, userId, kind: "camera" | "screen", self: boolean}.

export const GRID = "grid";
export const SPEAKER = "speaker";

export function chooseLayout({ mode = GRID, pinned = null, speaker = null, tiles = [] }) {
  const byKey = new Map(tiles.map((t) => [t.key, t]));
  let main = null;
  let why = null;
  if (pinned && byKey.has(pinned)) {
    main = byKey.get(pinned);
    why = "pinned";
  } else {
    const screen = tiles.find((t) => t.kind === "screen" && !t.self) ?? tiles.find((t) => t.kind === "screen");
    if (screen) {
      main = screen;
      why = "screen";
    } else if (mode === SPEAKER && tiles.length > 1) {
      main = tiles.find((t) => t.kind === "camera" && t.userId === speaker && !t.self)
        ?? tiles.find((t) => t.kind === "camera" && !t.self) ?? tiles[0];
      why = "speaker";
    }
  }
  if (!main) return { mode: GRID, main: null, why: null, strip: tiles.map((t) => t.key), columns: gridColumns(tiles.length) };
  return { mode: SPEAKER, main: main.key, why, strip: tiles.filter((t) => t !== main).map((t) => t.key), columns: 1 };
}

// Columns of a grid of n tiles on a wide screen: as square as possible (1, 2, 2, 2, 3, 3, 3, 3, 3, 4 ...).
export function gridColumns(n) {
  return Math.max(1, Math.ceil(Math.sqrt(n)));
}

// Pinning the tile that is pinned unpins it.
export function togglePin(pinned, key) {
  return pinned === key ? null : key;
}
