// The chat's unread counter (no DOM): messages from others while the chat is closed.

export class UnreadCounter {
  constructor() {
    this.count = 0;
    this.open = false;
  }

  // A message arrived; true if it was counted.
  message(fromSelf) {
    if (this.open || fromSelf) return false;
    this.count += 1;
    return true;
  }

  setOpen(open) {
    this.open = open;
    if (open) this.count = 0;
  }

  // What the badge shows: nothing at 0, "99+" past 99.
  get badge() {
    if (this.count === 0) return "";
    return this.count > 99 ? "99+" : String(this.count);
  }

  get label() {
    return this.count === 0 ? "Chat" : `Chat, ${this.count} unread`;
  }
}
