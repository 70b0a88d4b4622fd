// Files: uploads (button, drop, paste) with progress, and the `file` messages' bodies (an
// image preview, a download button). Both need the login token: the server serves files
// only to signed-in members of the room, so the page fetches them with it and shows blob:
// URLs (allowed by the page's CSP), never the file's own address.

const IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const blobs = new Map(); // message id -> blob: URL, fetched once

function sizeLabel(size) {
  if (size < 1000) return `${size} bytes`;
  if (size < 1e6) return `${(size / 1000).toFixed(1)} KB`;
  return `${(size / 1e6).toFixed(1)} MB`;
}

// The file's path on this server (the URL in the message may name another host).
const pathOf = (url) => {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
};

async function fetchBlob(msg, token) {
  if (blobs.has(msg.id)) return blobs.get(msg.id);
  const response = await fetch(pathOf(msg.url), { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  const url = URL.createObjectURL(await response.blob());
  blobs.set(msg.id, url);
  return url;
}

// The body of a file message: name, size, preview, download.
export function fileBody(msg, token) {
  const box = document.createElement("div");
  box.className = "file";
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = `shared ${msg.name} (${sizeLabel(msg.size)})`;
  box.append(meta);
  if (!token) {
    const note = document.createElement("span");
    note.className = "meta";
    note.textContent = "Sign in to an account to download files.";
    box.append(note);
    return box;
  }
  if (IMAGES.has(msg.media_type)) {
    const img = document.createElement("img");
    img.alt = msg.name;
    box.append(img);
    fetchBlob(msg, token).then((url) => { img.src = url; }, () => img.remove());
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.textContent = `Download ${msg.name}`;
  button.addEventListener("click", async () => {
    try {
      const a = document.createElement("a");
      a.href = await fetchBlob(msg, token);
      a.download = msg.name;
      a.rel = "noopener noreferrer";
      a.click();
    } catch (error) {
      meta.textContent = `Could not download ${msg.name}: ${error.message}`;
    }
  });
  box.append(button);
  return box;
}

// Send one file to a room, showing progress; resolves with the server's answer.
export function upload(file, room, token, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const name = encodeURIComponent(file.name || "pasted");
    xhr.open("POST", `/api/files?room=${encodeURIComponent(room)}&name=${name}`);
    xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    progress.hidden = false;
    progress.value = 0;
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress.value = (100 * event.loaded) / event.total;
    });
    xhr.addEventListener("load", () => {
      progress.hidden = true;
      if (xhr.status === 201) resolve(JSON.parse(xhr.responseText));
      else reject(new Error(xhr.responseText.trim() || `upload failed (${xhr.status})`));
    });
    xhr.addEventListener("error", () => {
      progress.hidden = true;
      reject(new Error("upload failed: the connection broke"));
    });
    xhr.send(file);
  });
}
