// The chat page: POST /v1/chat, show the reply and the cards; like/dislike go to /v1/feedback,
// then the next list is asked for at once so the change is visible.
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

function render(items) {
  const cards = document.getElementById("cards");
  cards.replaceChildren();
  items.forEach((item) => {
    const card = document.createElement("article");
    card.className = "card";
    card.dataset.itemId = item.item_id;
    const h = document.createElement("h3");
    h.textContent = item.rank + ". " + item.personalized_title;
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = item.title + (item.categories.length ? " · " + item.categories.slice(0, 3).join(", ") : "");
    const why = document.createElement("p");
    why.className = "why";
    why.textContent = item.explanation;
    const source = document.createElement("div");
    source.className = "source";
    source.textContent = "ranked by " + item.source + ", explanation from " + item.explanation_source;
    const like = document.createElement("button");
    like.textContent = "👍 like";
    like.className = "like";
    like.onclick = () => feedback(item, "like", card);
    const dislike = document.createElement("button");
    dislike.textContent = "👎 dislike";
    dislike.className = "dislike";
    dislike.onclick = () => feedback(item, "dislike", card);
    card.append(h, title, why, source, like, dislike);
    cards.appendChild(card);
  });
}

async function ask(message) {
  say("you", message);
  try {
    const body = { session_id: session, message: message };
    const user = document.getElementById("user").value.trim();
    if (!session && user) body.user_id = user;
    const reply = await post("/v1/chat", body);
    session = reply.session_id;
    say("agent", reply.notices.concat([reply.reply.split("\n")[0]]).join(" "));
    render(reply.items);
  } catch (e) {
    say("agent", "error: " + e.message);
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
