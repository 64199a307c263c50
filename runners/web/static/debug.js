// What the browser tests read (page.evaluate, through window.confero); nothing in the app depends on it.
export const debug = { refreshes: 0, reauths: 0, socketCloses: [], joinStartedAt: 0, firstRemoteFrameMs: null };
