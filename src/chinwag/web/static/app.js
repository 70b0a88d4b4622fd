// The chat page: conversations (rooms and private ones), their messages and members, kept
// in plain objects and drawn with DOM calls. User text only ever reaches the page as text
// nodes (render.js); the connection (connection.js) owns the WebSocket.

import { ChatConnection } from "./connection.js";
import { fileBody, upload } from "./files.js";
import {
  dayKey, dayLabel, fullLabel, highlighted, mentions, nameClass, renderText, timeLabel,
} from "./render.js";

const PAGE = 50; // messages asked for per history page
const STORE_KEY = "chinwag.session";
const $ = (id) => document.getElementById(id);

const ui = {
  login: $("login"), loginForm: $("login-form"), loginName: $("login-name"),
  loginPassword: $("login-password"), loginError: $("login-error"), app: $("app"),
  title: $("title"), topic: $("topic"), status: $("status"), me: $("me"), rooms: $("rooms"),
  privates: $("privates"), joinForm: $("join-form"), joinRoom: $("join-room"),
  knownRooms: $("known-rooms"), messages: $("messages"), older: $("older"), jump: $("jump"),
  composer: $("composer"), input: $("input"), composerError: $("composer-error"),
  members: $("members"), memberList: $("member-list"), leaveRoom: $("leave-room"),
  sidebar: $("sidebar"), live: $("live"), searchDialog: $("search-dialog"),
  searchForm: $("search-form"), searchInput: $("search-input"), searchResults: $("search-results"),
  attach: $("attach"), fileInput: $("file-input"), progress: $("upload-progress"),
  main: document.querySelector("main"),
};

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const conn = new ChatConnection(`${scheme}//${location.host}/ws`);

const state = {
  me: null,
  guest: true,
  convs: new Map(), // key ("r:general", "p:bob") -> conversation
  active: "r:general",
  lastSent: "",
  missedFrom: null, // the last id seen before a drop: what comes after it was missed
  seeking: null, // a search result's id, loaded page by page until it is shown
  membersTimer: null,
};

const roomKey = (room) => `r:${room.toLowerCase()}`;
const privateKey = (name) => `p:${name.toLowerCase()}`;

function conversation(key, name) {
  let conv = state.convs.get(key);
  if (!conv) {
    conv = {
      key, name, kind: key.startsWith("r:") ? "room" : "private", topic: "",
      members: new Map(), messages: [], ids: new Set(), pending: [], unread: 0,
      exhausted: false, loading: false,
    };
    state.convs.set(key, conv);
  }
  return conv;
}

// ------------------------------------------------------------------ messages

function messageConv(msg) {
  if (msg.type === "private") {
    const other = msg.username === state.me ? msg.target : msg.username;
    return conversation(privateKey(other), other);
  }
  return conversation(roomKey(msg.room || "general"), msg.room || "general");
}

// A stored message (chat, private, topic) into its conversation, once.
function addMessage(msg, { live }) {
  const conv = messageConv(msg);
  if (conv.ids.has(msg.id)) return;
  conv.ids.add(msg.id);
  const own = msg.username === state.me;
  let replaced = null;
  if (own && !msg.history && msg.type !== "topic" && msg.type !== "file") {
    const text = msg.message;
    const index = Math.max(0, conv.pending.findIndex((p) => p.text === text));
    if (conv.pending.length) [replaced] = conv.pending.splice(index, 1);
  }
  const last = conv.messages[conv.messages.length - 1];
  const inOrder = !last || last.id < msg.id;
  if (inOrder) conv.messages.push(msg);
  else {
    conv.messages.push(msg);
    conv.messages.sort((a, b) => a.id - b.id);
  }
  const missed = state.missedFrom !== null && msg.id > state.missedFrom;
  const fresh = live || missed;
  const visible = conv.key === state.active && !document.hidden;
  if (fresh && !own && !visible) {
    conv.unread += 1;
    drawSidebar();
  }
  if (fresh && !own && msg.type !== "topic") notify(conv, msg);
  if (conv.key !== state.active) return;
  if (replaced) {
    replaced.el.replaceWith(messageNode(msg));
    return;
  }
  if (inOrder && !conv.pending.length) appendNode(msg);
  else drawMessages({ keep: true });
  if (fresh && !own) {
    const said = msg.type === "file" ? `shared ${msg.name}` : msg.message || msg.topic || "";
    ui.live.textContent = `${msg.username}: ${said.slice(0, 300)}`;
  }
}

function notify(conv, msg) {
  const text = msg.message || "";
  const mentioned = mentions(text, state.me) || msg.type === "private";
  if (!mentioned || !document.hidden) return;
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const where = conv.kind === "room" ? ` in #${conv.name}` : "";
  new Notification(`${msg.username}${where}`, { body: text.slice(0, 200), tag: conv.key });
}

function messageNode(msg, { sending = false } = {}) {
  const node = document.createElement("div");
  node.className = "msg";
  if (msg.id) node.dataset.id = String(msg.id);
  const name = document.createElement("span");
  name.className = `name ${nameClass(msg.username)}`;
  name.textContent = msg.username;
  const time = document.createElement("time");
  if (msg.timestamp) {
    time.dateTime = new Date(msg.timestamp * 1000).toISOString();
    time.textContent = timeLabel(msg.timestamp);
    time.title = fullLabel(msg.timestamp);
  }
  node.append(name, time);
  if (sending) {
    node.classList.add("sending");
    const label = document.createElement("span");
    label.className = "state";
    label.textContent = "sending…";
    node.append(label);
  }
  const body = document.createElement("div");
  body.className = "body";
  body.dir = "auto";
  if (msg.type === "topic") {
    node.classList.add("notice");
    body.textContent = `set the topic: ${msg.topic}`;
  } else if (msg.deleted) {
    node.classList.add("deleted");
    body.textContent = msg.type === "file" ? "(file deleted)" : "(message deleted)";
  } else if (msg.type === "file") {
    body.append(fileBody(msg, conn.credentials && conn.credentials.token));
  } else {
    body.append(...renderText(msg.message, state.me));
    if (msg.username !== state.me && mentions(msg.message, state.me)) node.classList.add("mention");
  }
  node.append(body);
  return node;
}

function dayNode(seconds) {
  const node = document.createElement("div");
  node.className = "day";
  node.dataset.day = dayKey(seconds);
  const label = document.createElement("span");
  label.textContent = dayLabel(seconds);
  node.append(label);
  return node;
}

function noticeNode(text) {
  const node = document.createElement("div");
  node.className = "msg notice";
  node.textContent = text;
  return node;
}

const atBottom = () => {
  const m = ui.messages;
  return m.scrollHeight - m.scrollTop - m.clientHeight < 60;
};
const toBottom = () => {
  ui.messages.scrollTop = ui.messages.scrollHeight;
  ui.jump.hidden = true;
};

function lastDay() {
  const days = ui.messages.querySelectorAll(".day");
  return days.length ? days[days.length - 1].dataset.day : null;
}

function appendNode(msg) {
  const stick = atBottom();
  if (msg.timestamp && dayKey(msg.timestamp) !== lastDay()) ui.messages.append(dayNode(msg.timestamp));
  ui.messages.append(messageNode(msg));
  if (stick || msg.username === state.me) toBottom();
  else ui.jump.hidden = false;
}

function appendNotice(key, text) {
  if (key !== state.active) return;
  const stick = atBottom();
  ui.messages.append(noticeNode(text));
  if (stick) toBottom();
}

// The active conversation, drawn whole (a switch, a page of older history).
function drawMessages({ keep = false, anchor = null } = {}) {
  const conv = state.convs.get(state.active);
  const m = ui.messages;
  const fromBottom = m.scrollHeight - m.scrollTop;
  const stick = atBottom();
  m.replaceChildren(ui.older);
  if (!conv) return;
  ui.older.hidden = !conv.loading;
  let day = null;
  for (const msg of conv.messages) {
    const key = dayKey(msg.timestamp);
    if (key !== day) {
      m.append(dayNode(msg.timestamp));
      day = key;
    }
    m.append(messageNode(msg));
  }
  for (const pending of conv.pending) m.append(pending.el);
  if (anchor !== null) m.scrollTop = m.scrollHeight - anchor; // older history: stay put
  else if (!keep || stick) toBottom();
  else m.scrollTop = m.scrollHeight - fromBottom;
  if (state.seeking !== null) seek(state.seeking);
  maybeLoadOlder();
}

// ------------------------------------------------------------------ older history

function canPage(conv) {
  return conv && !conv.exhausted && !conv.loading && (conv.kind === "room" || !state.guest);
}

function loadOlder() {
  const conv = state.convs.get(state.active);
  if (!canPage(conv)) return;
  const oldest = conv.messages.length ? conv.messages[0].id : null;
  const request = { type: "history", limit: PAGE };
  if (conv.kind === "room") request.room = conv.name;
  else request.with = conv.name;
  if (oldest !== null) request.before = oldest;
  if (!conn.send(request)) return;
  conv.loading = true;
  ui.older.hidden = false;
}

function maybeLoadOlder() {
  const m = ui.messages;
  if (m.scrollTop < 40 || m.scrollHeight <= m.clientHeight) loadOlder();
}

function historyPage(msg) {
  const conv = msg.with ? conversation(privateKey(msg.with), msg.with) : conversation(roomKey(msg.room), msg.room);
  conv.loading = false;
  if (msg.messages.length < PAGE) conv.exhausted = true;
  let added = 0;
  for (const item of msg.messages) {
    if (conv.ids.has(item.id)) continue;
    conv.ids.add(item.id);
    conv.messages.push(item);
    added += 1;
  }
  conv.messages.sort((a, b) => a.id - b.id);
  if (conv.key !== state.active) return;
  if (!added) {
    ui.older.hidden = true;
    return;
  }
  drawMessages({ anchor: ui.messages.scrollHeight - ui.messages.scrollTop });
}

// ------------------------------------------------------------------ search

function seek(id) {
  const node = ui.messages.querySelector(`[data-id="${Number(id)}"]`);
  if (node) {
    state.seeking = null;
    node.scrollIntoView({ block: "center" });
    node.classList.add("flash");
    setTimeout(() => node.classList.remove("flash"), 2000);
    return;
  }
  const conv = state.convs.get(state.active);
  if (!conv || conv.exhausted) state.seeking = null;
  else loadOlder();
}

function searchResults(msg) {
  ui.searchResults.replaceChildren();
  if (!msg.messages.length) {
    const none = document.createElement("li");
    none.textContent = "Nothing found.";
    ui.searchResults.append(none);
    return;
  }
  for (const item of msg.messages) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    const who = document.createElement("strong");
    who.textContent = `${item.username} `;
    const when = document.createElement("time");
    when.textContent = `${dayLabel(item.timestamp)} ${timeLabel(item.timestamp)}: `;
    button.append(who, when, ...highlighted(item.message || "", msg.query));
    button.addEventListener("click", () => {
      ui.searchDialog.close();
      const key = roomKey(msg.room);
      if (state.active !== key) select(key);
      state.seeking = item.id;
      seek(item.id);
    });
    li.append(button);
    ui.searchResults.append(li);
  }
}

// ------------------------------------------------------------------ sidebar and members

function conversationButton(conv, label) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.key = conv.key;
  const name = document.createElement("span");
  name.textContent = label;
  button.append(name);
  if (conv.unread) {
    const badge = document.createElement("span");
    badge.className = "unread";
    badge.textContent = String(conv.unread);
    badge.setAttribute("aria-label", `${conv.unread} unread`);
    button.append(badge);
  }
  if (conv.key === state.active) button.setAttribute("aria-current", "true");
  button.addEventListener("click", () => select(conv.key));
  li.append(button);
  return li;
}

function drawSidebar() {
  const rooms = [...state.convs.values()].filter((c) => c.kind === "room");
  rooms.sort((a, b) => (a.name === "general" ? -1 : b.name === "general" ? 1 : a.name.localeCompare(b.name)));
  ui.rooms.replaceChildren(...rooms.map((c) => conversationButton(c, `#${c.name}`)));
  const privates = [...state.convs.values()].filter((c) => c.kind === "private");
  privates.sort((a, b) => a.name.localeCompare(b.name));
  ui.privates.replaceChildren(...privates.map((c) => conversationButton(c, `@${c.name}`)));
  const unread = [...state.convs.values()].reduce((n, c) => n + c.unread, 0);
  document.title = unread ? `(${unread}) chinwag` : "chinwag";
}

function drawHeader() {
  const conv = state.convs.get(state.active);
  if (!conv) return;
  ui.title.textContent = conv.kind === "room" ? `#${conv.name}` : `@${conv.name}`;
  ui.topic.textContent = conv.topic;
  ui.topic.title = conv.topic;
  ui.leaveRoom.hidden = conv.kind !== "room" || conv.name === "general";
  $("open-search").hidden = conv.kind !== "room";
}

function drawMembers() {
  const conv = state.convs.get(state.active);
  const list = conv ? [...conv.members.entries()] : [];
  list.sort((a, b) => a[0].localeCompare(b[0]));
  ui.memberList.replaceChildren(
    ...list.map(([name, info]) => {
      const li = document.createElement("li");
      const who = document.createElement(name === state.me ? "span" : "button");
      who.className = nameClass(name);
      who.textContent = name;
      if (name !== state.me) {
        who.type = "button";
        who.title = `Private conversation with ${name}`;
        who.addEventListener("click", () => select(privateKey(name), name));
      }
      li.append(who);
      if (info.guest) {
        const mark = document.createElement("span");
        mark.className = "guest-mark";
        mark.textContent = " (guest)";
        li.append(mark);
      }
      return li;
    }),
  );
  ui.members.querySelector("h3").textContent = conv && conv.kind === "private" ? "Conversation" : `Members (${list.length})`;
}

function setMembers(conv, users, accounts) {
  const registered = new Set(accounts || []);
  conv.members = new Map(users.map((u) => [u, { guest: !registered.has(u) }]));
  if (conv.key === state.active) drawMembers();
}

// Who is a guest is said by list_users; presence notices only name people.
function refreshMembers(room) {
  clearTimeout(state.membersTimer);
  state.membersTimer = setTimeout(() => conn.send({ type: "list_users", room }), 300);
}

function select(key, name) {
  const conv = conversation(key, name || key.slice(2));
  state.active = key;
  conv.unread = 0;
  if (conv.kind === "private") {
    conv.members = new Map([[state.me, { guest: state.guest }], [conv.name, { guest: false }]]);
  }
  drawSidebar();
  drawHeader();
  drawMembers();
  drawMessages();
  ui.sidebar.classList.remove("open");
  ui.input.focus();
}

// ------------------------------------------------------------------ from the server

function welcome(msg) {
  state.me = msg.username;
  state.guest = Boolean(msg.guest);
  ui.me.textContent = msg.username + (msg.guest ? " (guest)" : "");
  ui.attach.hidden = Boolean(msg.guest); // files need a login token
  const general = conversation("r:general", "general");
  setMembers(general, msg.users, msg.accounts);
  for (const room of msg.rooms) conversation(roomKey(room), room);
  for (const conv of [...state.convs.values()]) {
    if (conv.kind === "room" && !msg.rooms.some((r) => roomKey(r) === conv.key)) state.convs.delete(conv.key);
  }
  if (!state.convs.has(state.active)) state.active = "r:general";
  remember(msg);
  ui.login.hidden = true;
  ui.app.hidden = false;
  conn.send({ type: "rooms" });
  if (state.missedFrom !== null) appendNotice(state.active, "Reconnected.");
  select(state.active);
}

function remember(msg) {
  const saved = { username: msg.username };
  if (msg.token) saved.token = msg.token;
  else if (conn.credentials.token) saved.token = conn.credentials.token;
  if (saved.token) {
    localStorage.setItem(STORE_KEY, JSON.stringify(saved));
    sessionStorage.removeItem(STORE_KEY);
  } else {
    sessionStorage.setItem(STORE_KEY, JSON.stringify({ username: msg.username, guest: true }));
  }
}

function forget() {
  localStorage.removeItem(STORE_KEY);
  sessionStorage.removeItem(STORE_KEY);
}

const handlers = {
  welcome,
  chat: (msg) => addMessage(msg, { live: !msg.history }),
  private: (msg) => {
    addMessage(msg, { live: !msg.history });
    drawSidebar();
  },
  file: (msg) => addMessage(msg, { live: !msg.history }),
  topic: (msg) => {
    const conv = conversation(roomKey(msg.room), msg.room);
    conv.topic = msg.topic;
    addMessage(msg, { live: !msg.history });
    if (conv.key === state.active) drawHeader();
  },
  join_room: (msg) => {
    const conv = conversation(roomKey(msg.room), msg.room);
    conv.topic = msg.topic;
    setMembers(conv, msg.users, msg.accounts);
    drawSidebar();
    if (state.joining && roomKey(state.joining) === conv.key) {
      state.joining = null;
      select(conv.key);
    }
  },
  leave_room: (msg) => {
    state.convs.delete(roomKey(msg.room));
    if (state.active === roomKey(msg.room)) select("r:general");
    else drawSidebar();
  },
  user_joined: (msg) => {
    const conv = conversation(roomKey(msg.room || "general"), msg.room || "general");
    conv.members.set(msg.username, { guest: true });
    if (conv.key === state.active) {
      drawMembers();
      appendNotice(conv.key, `${msg.username} joined`);
    }
    refreshMembers(conv.name);
  },
  user_left: (msg) => {
    const conv = state.convs.get(roomKey(msg.room || "general"));
    if (!conv) return;
    conv.members.delete(msg.username);
    if (conv.key === state.active) {
      drawMembers();
      appendNotice(conv.key, `${msg.username} left${msg.reason ? ` (${msg.reason})` : ""}`);
    }
  },
  nick: (msg) => {
    if (msg.old === state.me) {
      state.me = msg.username;
      ui.me.textContent = msg.username;
    }
    for (const conv of state.convs.values()) {
      const info = conv.members.get(msg.old);
      if (info) {
        conv.members.delete(msg.old);
        conv.members.set(msg.username, info);
      }
    }
    drawMembers();
    appendNotice(state.active, `${msg.old} is now known as ${msg.username}`);
  },
  list_users: (msg) => {
    const conv = state.convs.get(roomKey(msg.room || "general"));
    if (conv) setMembers(conv, msg.users, msg.accounts);
  },
  rooms: (msg) => {
    ui.knownRooms.replaceChildren(
      ...msg.rooms.map((r) => {
        const option = document.createElement("option");
        option.value = r.room;
        return option;
      }),
    );
    for (const info of msg.rooms) {
      const conv = state.convs.get(roomKey(info.room));
      if (conv) conv.topic = info.topic;
    }
    drawHeader();
  },
  history: historyPage,
  // Moderation (docs/protocol.md, "Moderation"): said in the room it concerns.
  moderation: (msg) => {
    const key = msg.room ? roomKey(msg.room) : state.active;
    appendNotice(key, msg.message || `${msg.action} by ${msg.by}`);
    const removed = ["kick", "ban"].includes(msg.action) && msg.username === state.me;
    if (removed && msg.room && state.convs.has(key) && msg.room !== "general") {
      state.convs.delete(key);
      if (state.active === key) select("r:general");
      else drawSidebar();
    }
  },
  deleted: (msg) => {
    for (const conv of state.convs.values()) {
      const found = conv.messages.find((m) => m.id === msg.id);
      if (!found) continue;
      found.message = "";
      found.deleted = true;
      const node = conv.key === state.active && ui.messages.querySelector(`[data-id="${Number(msg.id)}"]`);
      if (node) node.replaceWith(messageNode(found));
    }
  },
  announce: (msg) => {
    for (const conv of state.convs.values()) {
      if (conv.kind === "room") appendNotice(conv.key, `Announcement from ${msg.username}: ${msg.message}`);
    }
    ui.live.textContent = `Announcement from ${msg.username}: ${msg.message}`;
  },
  search: searchResults,
  error: (msg) => {
    if (!conn.welcomed) {
      signInFailed(msg);
      return;
    }
    const conv = state.convs.get(state.active);
    const failed = conv && conv.pending.find((p) => !p.failed);
    if (failed && ["rate_limited", "empty_message", "store_unavailable", "unknown_user", "not_in_room", "forbidden", "line_too_long"].includes(msg.code)) {
      failed.failed = true;
      failed.el.classList.replace("sending", "failed");
      failed.el.querySelector(".state").textContent = "not sent";
      conv.pending.splice(conv.pending.indexOf(failed), 1);
    }
    if (conv) conv.loading = false;
    ui.older.hidden = true;
    ui.composerError.textContent = msg.message;
  },
  goodbye: (msg) => {
    appendNotice(state.active, msg.message);
    if (conn.stopped) signedOut(msg.message);
  },
};

conn.addEventListener("message", (event) => {
  const msg = event.detail;
  const handler = handlers[msg.type];
  if (handler) handler(msg);
});

conn.addEventListener("state", (event) => {
  const { state: name, wait } = event.detail;
  ui.status.dataset.state = name;
  if (name === "reconnecting") {
    if (state.missedFrom === null) state.missedFrom = conn.lastId;
    ui.status.textContent = wait ? `reconnecting in ${Math.ceil(wait / 1000)} s…` : "reconnecting…";
  } else if (name === "online") {
    ui.status.textContent = "online";
    ui.composerError.textContent = "";
    setTimeout(() => { state.missedFrom = null; }, 3000); // the replay is in by then
  } else {
    ui.status.textContent = name === "connecting" ? "connecting…" : "offline";
  }
});

// ------------------------------------------------------------------ signing in and out

function signInFailed(msg) {
  const hadToken = Boolean(conn.credentials && conn.credentials.token);
  forget();
  showLogin(hadToken && msg.code === "auth_failed" ? "Your login has expired: please sign in again." : msg.message);
}

function signedOut(message) {
  forget();
  showLogin(/^Signed out/.test(message) ? message : "");
}

function showLogin(message) {
  conn.stop();
  state.convs.clear();
  state.active = "r:general";
  state.missedFrom = null;
  conn.lastId = 0;
  ui.app.hidden = true;
  ui.login.hidden = false;
  ui.loginError.textContent = message || "";
  ui.loginPassword.value = "";
  ui.loginName.focus();
}

function startSession(action) {
  const username = ui.loginName.value.trim();
  const password = ui.loginPassword.value;
  if (!username) {
    ui.loginError.textContent = "Type a name first.";
    return;
  }
  if (action !== "guest" && !password) {
    ui.loginError.textContent = "Type your password (or join as a guest).";
    return;
  }
  ui.loginError.textContent = "";
  const credentials = { username };
  if (action !== "guest") credentials.password = password;
  if (action === "register") credentials.register = true;
  conn.start(credentials);
}

ui.loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  startSession("login");
});
$("register").addEventListener("click", () => startSession("register"));
$("guest").addEventListener("click", () => startSession("guest"));

$("sign-out").addEventListener("click", () => {
  if (!conn.send({ type: state.guest ? "quit" : "logout" })) {
    forget();
    showLogin("");
  }
});

// ------------------------------------------------------------------ composing

function sendText(text) {
  const conv = state.convs.get(state.active);
  if (!conv) return false;
  const command = text.match(/^\/(\w+)\s*([\s\S]*)$/);
  if (command && !text.startsWith("//")) return runCommand(command[1].toLowerCase(), command[2].trim(), conv);
  if (text.startsWith("//")) text = text.slice(1);
  const request = conv.kind === "room"
    ? { type: "chat", room: conv.name, message: text }
    : { type: "private", target: conv.name, message: text };
  if (!conn.send(request)) {
    ui.composerError.textContent = "Not connected: your message was not sent.";
    return false;
  }
  const el = messageNode({ username: state.me, message: text }, { sending: true });
  conv.pending.push({ text, el, failed: false });
  ui.messages.append(el);
  toBottom();
  return true;
}

function runCommand(name, args, conv) {
  const send = (obj) => conn.send(obj) || ((ui.composerError.textContent = "Not connected."), false);
  if (name === "join" && args) {
    state.joining = args.replace(/^#/, "");
    return send({ type: "join_room", room: state.joining });
  }
  if (name === "leave") return conv.kind === "room" && send({ type: "leave_room", room: conv.name });
  if (name === "topic" && conv.kind === "room") return send({ type: "topic", room: conv.name, topic: args });
  if (name === "msg") {
    const [, target, message] = args.match(/^(\S+)\s+([\s\S]+)$/) || [];
    if (!target) return false;
    select(privateKey(target), target);
    return sendText(message);
  }
  ui.composerError.textContent = `Unknown command /${name} (try /join, /leave, /topic, /msg; // sends a slash)`;
  return false;
}

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.input.value;
  if (!text.trim()) return;
  ui.composerError.textContent = "";
  if (sendText(text)) {
    state.lastSent = text;
    ui.input.value = "";
    grow();
  }
});

function grow() {
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight + 2, 160)}px`;
}
ui.input.addEventListener("input", grow);

ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  } else if (event.key === "ArrowUp" && !ui.input.value && state.lastSent) {
    event.preventDefault();
    ui.input.value = state.lastSent;
    grow();
  }
});

// ------------------------------------------------------------------ files

async function share(files) {
  const conv = state.convs.get(state.active);
  const token = conn.credentials && conn.credentials.token;
  if (!conv || conv.kind !== "room") {
    ui.composerError.textContent = "Files are shared in rooms.";
    return;
  }
  if (!token) {
    ui.composerError.textContent = "Sign in to an account to share files.";
    return;
  }
  for (const file of files) {
    try {
      await upload(file, conv.name, token, ui.progress);
      ui.live.textContent = `Shared ${file.name || "the file"}`;
    } catch (error) {
      ui.composerError.textContent = error.message;
    }
  }
}

ui.attach.addEventListener("click", () => ui.fileInput.click());
ui.fileInput.addEventListener("change", () => {
  share([...ui.fileInput.files]);
  ui.fileInput.value = "";
});
ui.main.addEventListener("dragover", (event) => {
  if (![...event.dataTransfer.types].includes("Files")) return;
  event.preventDefault();
  ui.main.classList.add("dropping");
});
ui.main.addEventListener("dragleave", () => ui.main.classList.remove("dropping"));
ui.main.addEventListener("drop", (event) => {
  ui.main.classList.remove("dropping");
  if (!event.dataTransfer.files.length) return;
  event.preventDefault();
  share([...event.dataTransfer.files]);
});
ui.input.addEventListener("paste", (event) => {
  const files = [...(event.clipboardData ? event.clipboardData.files : [])];
  if (!files.length) return;
  event.preventDefault();
  share(files);
});

// ------------------------------------------------------------------ the rest of the page

ui.messages.addEventListener("scroll", () => {
  if (ui.messages.scrollTop < 40) loadOlder();
  if (atBottom()) ui.jump.hidden = true;
});
ui.jump.addEventListener("click", toBottom);

ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const room = ui.joinRoom.value.trim().replace(/^#/, "");
  if (!room) return;
  const existing = state.convs.get(roomKey(room));
  if (existing) select(existing.key);
  else {
    state.joining = room;
    conn.send({ type: "join_room", room });
  }
  ui.joinRoom.value = "";
});

ui.leaveRoom.addEventListener("click", () => {
  const conv = state.convs.get(state.active);
  if (conv && conv.kind === "room") conn.send({ type: "leave_room", room: conv.name });
});

$("open-search").addEventListener("click", () => {
  ui.searchResults.replaceChildren();
  ui.searchDialog.showModal();
  ui.searchInput.focus();
});
$("search-close").addEventListener("click", () => ui.searchDialog.close());
ui.searchForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const conv = state.convs.get(state.active);
  const query = ui.searchInput.value.trim();
  if (conv && conv.kind === "room" && query) conn.send({ type: "search", room: conv.name, query, limit: 50 });
});

function toggle(button, panel) {
  const open = panel.classList.toggle("open");
  button.setAttribute("aria-expanded", String(open));
}
$("toggle-rooms").addEventListener("click", (e) => toggle(e.currentTarget, ui.sidebar));
$("toggle-members").addEventListener("click", (e) => toggle(e.currentTarget, ui.members));

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  if (ui.searchDialog.open) ui.searchDialog.close(); // also when Chromium's own Esc is held back
  ui.sidebar.classList.remove("open");
  ui.members.classList.remove("open");
  ui.composerError.textContent = "";
});

const bell = $("notify");
function drawBell() {
  bell.hidden = !("Notification" in window) || Notification.permission !== "default";
}
bell.addEventListener("click", async () => {
  await Notification.requestPermission();
  drawBell();
});
drawBell();

document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  const conv = state.convs.get(state.active);
  if (conv && conv.unread) {
    conv.unread = 0;
    drawSidebar();
  }
});
window.addEventListener("online", () => conn.now());

conn.rooms = () => [...state.convs.values()].filter((c) => c.kind === "room").map((c) => c.name);

// A reload stays signed in: an account by its token, a guest by its name (this tab only).
const saved = JSON.parse(localStorage.getItem(STORE_KEY) || sessionStorage.getItem(STORE_KEY) || "null");
if (saved && saved.username) {
  ui.loginName.value = saved.username;
  ui.login.hidden = true;
  ui.app.hidden = false;
  conn.start(saved.token ? { username: saved.username, token: saved.token } : { username: saved.username });
} else {
  ui.loginName.focus();
}
