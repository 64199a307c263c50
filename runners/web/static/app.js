// Confero web client: accounts, meetings, and a meeting room over the signaling socket with one
// RTCPeerConnection to the SFU (docs/signaling.md). No framework, no build step: ES modules,
// loaded from index.html as <script type="module">. This module wires them together and boots.
//
//   ui.js         element lookup, notices, views, form handling
//   api.js        HTTP calls, token storage and refresh
//   signaling.js  the WebSocket client
//   media.js      the SFU session on a real RTCPeerConnection, camera and microphone, screen share,
//                 devices mid-call, the network quality indicator
//   room.js       the meeting view: tiles, layout and pin, mute / hand buttons, active speaker, chat
//   people.js     the participants panel and host controls
//   sfu.js, layout.js, participants.js, unread.js, netquality.js, reconnect.js, tilesizes.js: the rules, without
//                 the DOM (tested with node: tests/js/)
//   meeting.js    joining, leaving, server events, reconnecting
//   lobby.js      log in / register, my meetings (tabs), schedule / edit / cancel, copy link, /m/<id> links
//   prejoin.js    a meeting's lobby: device pickers, self-preview, level meter, joining muted, refusals
//   meetinglist.js, meetingform.js, refusals.js, levels.js: their logic, without the DOM (tests/js)
//   recordings.js record / stop, the recording indicator, the meeting's recordings
//   captions.js   captions on / off, the indicator, caption lines and panel, the transcript
//   notifications.js  the bell, notification settings, Web Push opt-in (sw.js)

import { dropSavedSession, onSessionEnd, refreshTokens, restoreSavedSession } from "./api.js";
import { debug } from "./debug.js";
import { endSession, loggedIn, wireLobby } from "./lobby.js";
import { joinMeeting, leaveMeeting } from "./meeting.js";
import { wireMedia } from "./media.js";
import { wirePeople } from "./people.js";
import { wireRecordings } from "./recordings.js";
import { wireCaptions } from "./captions.js";
import { wireNotifications } from "./notifications.js";
import { room, wireRoom } from "./room.js";
import { signaling } from "./signaling.js";
import { $, clearNotice, showView } from "./ui.js";

// What the browser tests read (page.evaluate); nothing in the app depends on it.
window.confero = {
  debug, get pc() { return room?.pc ?? null; }, get roomId() { return room?.id ?? null; },
  get sfu() {
    const s = room?.session;
    return s ? { offers: s.offers, candidatesSent: s.candidatesSent, gatheringAtOffer: s.gatheringAtOffer } : null;
  },
  get signaling() { return signaling; },
};

function wire() {
  onSessionEnd(endSession);
  $("#notice-close").addEventListener("click", clearNotice);
  wireLobby(joinMeeting);
  wireRoom();
  wireMedia();
  wirePeople();
  wireRecordings();
  wireCaptions();
  wireNotifications();
  $("#leave").addEventListener("click", leaveMeeting);
  window.addEventListener("beforeunload", () => signaling?.close());
}

async function boot() {
  wire();
  if (restoreSavedSession()) {
    try {
      await refreshTokens();
      loggedIn();
      return;
    } catch {
      dropSavedSession();
    }
  }
  showView("auth");
}

boot();
