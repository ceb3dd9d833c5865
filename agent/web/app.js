// The chat page: POST /v1/chat as a stream, show each card as its text is written and the
// reply when done; Send is disabled meanwhile. like/dislike go to /v1/feedback, then the
// next list is asked for at once so the change is visible.
"use strict";
let session = null;

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = document.getElementById("key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function post(path, body) {
  const r = await fetch(path, { method: "POST", headers: headers(), body: JSON.stringify(body) });
  const data = await r.json();
  if (!r.ok) throw new Error(data.error ? data.error.message : r.statusText);
  return data;
}

function say(who, text) {
  const p = document.createElement("p");
  p.className = who;
  p.textContent = (who === "you" ? "you: " : "agent: ") + text;
  document.getElementById("log").appendChild(p);
  p.scrollIntoView();
}

function card(item) {
  const card = document.createElement("article");
  card.className = "card";
  card.dataset.itemId = item.item_id;
  const h = document.createElement("h3");
  h.textContent = item.rank + ". " + item.personalized_title;
  const title = document.createElement("div");
  title.className = "title";
  title.textContent = item.title + (item.categories.length ? " · " + item.categories.join(", ") : "");
  const why = document.createElement("p");
  why.className = "why";
  why.textContent = item.explanation;
  const source = document.createElement("div");
  source.className = "source";
  source.textContent = "ranked by " + item.source + ", explanation " +
    (item.explanation_source === "llm" ? "written by the model and checked" : "from a data template");
  const like = document.createElement("button");
  like.textContent = "like";  // plain words: an emoji needs a font the machine may not have
  like.className = "like";
  like.onclick = () => feedback(item, "like", card);
  const dislike = document.createElement("button");
  dislike.textContent = "dislike";
  dislike.className = "dislike";
  dislike.onclick = () => feedback(item, "dislike", card);
  card.append(h, title, why, source, like, dislike);
  return card;
}

// The list on screen moves into the log, folded under its turn, before the next list replaces it.
function keepInLog(cards) {
  const shown = [...cards.querySelectorAll(".card")];
  if (shown.length) {
    const past = document.createElement("details");
    past.className = "past";
    const summary = document.createElement("summary");
    summary.textContent = "the " + shown.length + " picks above";
    const list = document.createElement("ol");
    for (const c of shown) {
      const li = document.createElement("li");
      li.textContent = c.querySelector(".title").textContent;
      list.appendChild(li);
    }
    past.append(summary, list);
    document.getElementById("log").appendChild(past);
  }
  cards.replaceChildren();
}

function writing(on) {
  document.getElementById("send").disabled = on;
  // the cards on screen belong to the last answer: dimmed while the next one is written
  for (const c of document.querySelectorAll("#cards .card")) c.classList.toggle("stale", on);
  let note = document.getElementById("writing");
  if (on && !note) {
    note = document.createElement("p");
    note.id = "writing";
    note.className = "writing";
    note.textContent = "writing…";
    document.getElementById("cards").after(note);
  } else if (!on && note) {
    note.remove();
  }
}

// Server-sent events from a fetch body: calls onEvent(name, data) per event.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = (block.match(/^event: (.*)$/m) || [])[1];
      const data = (block.match(/^data: (.*)$/m) || [])[1];
      if (name && data) onEvent(name, JSON.parse(data));
    }
  }
}

async function ask(message) {
  say("you", message);
  writing(true);
  const cards = document.getElementById("cards");
  let fresh = true;
  try {
    const body = { session_id: session, message: message, stream: true };
    const user = document.getElementById("user").value.trim();
    if (!session && user) body.user_id = user;
    const r = await fetch("/v1/chat", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    if (!r.ok) {
      const data = await r.json();
      throw new Error(data.error ? data.error.message : r.statusText);
    }
    await readEvents(r, (name, data) => {
      if (name === "item") {
        if (fresh) keepInLog(cards);
        fresh = false;
        cards.appendChild(card(data));
      } else if (name === "done") {
        session = data.session_id;
        // the reply is the notices, then the answer: a list's header line, or a whole answer ("why #1")
        const answer = data.reply.split("\n").slice(data.notices.length);
        const shown = data.items.length ? answer.slice(0, 1) : answer.filter((line) => !line.startsWith('Say "'));
        say("agent", data.notices.concat(shown).join("\n"));
        if (fresh && data.items.length) {
          keepInLog(cards);
          cards.replaceChildren(...data.items.map(card));
        }
      } else if (name === "error") {
        throw new Error(data.error.message);
      }
    });
  } catch (e) {
    say("agent", "error: " + e.message);
  } finally {
    writing(false);
  }
}

async function feedback(item, signal, card) {
  try {
    await post("/v1/feedback", { session_id: session, item_id: item.item_id, signal: signal });
    card.classList.add(signal === "like" ? "liked" : "disliked");
    await ask(signal === "like" ? "more like #" + item.rank : "something else, please");
  } catch (e) {
    say("agent", "error: " + e.message);
  }
}

document.getElementById("ask").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("message");
  const text = input.value.trim();
  if (text) ask(text);
  input.value = "";
});
