// The chat connection: one WebSocket to /ws speaking chinwag's native JSON (one object per
// text frame, docs/protocol.md). It signs in, remembers the highest message id seen, and
// after a drop reconnects with backoff, rejoining with `since` and its rooms, so that what
// was missed arrives once. The page listens to its events; it never touches the socket.

const FIRST_DELAY = 500; // ms before the first reconnection attempt; doubles up to:
const MAX_DELAY = 10000;

export class ChatConnection extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.credentials = null; // {username, password?, token?, register?}
    this.lastId = 0;
    this.rooms = () => []; // the rooms to rejoin (set by the page)
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.welcomed = false;
  }

  // Sign in (or register) and stay connected until stop().
  start(credentials) {
    this.credentials = credentials;
    this.stopped = false;
    this.attempt = 0;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, "bye");
    this.ws = null;
  }

  send(obj) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.welcomed) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  state(name, detail = {}) {
    this.dispatchEvent(new CustomEvent("state", { detail: { state: name, ...detail } }));
  }

  open() {
    clearTimeout(this.timer);
    this.welcomed = false;
    this.state(this.attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => ws.send(JSON.stringify(this.joinMessage())));
    ws.addEventListener("message", (event) => {
      if (ws !== this.ws) return;
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      this.receive(msg);
    });
    ws.addEventListener("close", () => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.welcomed = false;
      if (this.stopped) return;
      this.retry();
    });
  }

  joinMessage() {
    const c = this.credentials;
    if (c.register) return { type: "register", username: c.username, password: c.password };
    const msg = { type: "join", username: c.username };
    if (c.token) msg.token = c.token;
    else if (c.password) msg.password = c.password;
    if (this.lastId) msg.since = this.lastId;
    const rooms = this.rooms().filter((r) => r !== "general");
    if (rooms.length) msg.rooms = rooms;
    return msg;
  }

  retry() {
    const delay = Math.min(MAX_DELAY, FIRST_DELAY * 2 ** this.attempt);
    this.attempt += 1;
    const wait = delay * (0.8 + Math.random() * 0.4); // jitter: not everyone at once
    this.state("reconnecting", { wait });
    this.timer = setTimeout(() => this.open(), wait);
  }

  // Try now (the network came back, or the person asked).
  now() {
    if (!this.stopped && !this.ws) this.open();
  }

  receive(msg) {
    if (typeof msg.id === "number" && msg.id > this.lastId) this.lastId = msg.id;
    if (msg.type === "welcome") {
      this.welcomed = true;
      this.attempt = 0;
      const c = this.credentials;
      // From now on: the token (an account) or the name (a guest); never the password.
      this.credentials = { username: msg.username, token: msg.token || c.token || null };
      if (!msg.token && !c.token) this.credentials.guest = true;
      if (!this.lastId) this.lastId = msg.last_id || 0;
      this.state("online");
    } else if (msg.type === "error" && !this.welcomed) {
      // Refused at sign-in: stop; the page asks again.
      this.stopped = true;
      if (this.ws) this.ws.close(1000, "refused");
      this.ws = null;
      this.state("offline");
    } else if (msg.type === "goodbye") {
      // Signed out or logged out: do not come back. A shutdown: reconnect.
      if (/^(Signed out|Goodbye|Logged out)/.test(msg.message)) {
        this.stopped = true;
        this.state("offline");
      }
    }
    this.dispatchEvent(new CustomEvent("message", { detail: msg }));
  }
}
