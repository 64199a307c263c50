// What the browser tests read (page.evaluate, through window.confero); nothing in the app depends on it.
export const debug = {
  refreshes: 0, reauths: 0, socketCloses: [], joinStartedAt: 0, firstRemoteFrameMs: null, marks: {},
};

// The time since the join started of a step of joining (the first time it happens), for the fast-join
// measurement: where the time to the first remote frame goes.
export function mark(name) {
  if (debug.marks[name] === undefined) debug.marks[name] = Math.round(performance.now() - debug.joinStartedAt);
}
