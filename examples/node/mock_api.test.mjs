// A Node consumer of mock_api, with no npm dependency (Node >= 18: node:test, fetch, child_process).
// Run: node --test examples/node    (MOCK_API_COMMAND overrides how the mock is started; default `mock-api`)
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

const READY = "mock_api listening on ";
const command = (process.env.MOCK_API_COMMAND || "mock-api").split(" ");
let server;
let base;

// Start `mock-api --port 0` and read the URL from its ready line on stdout.
function startMock() {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], [...command.slice(1), "--port", "0", "--quiet"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`mock-api exited with ${code} before its ready line`)));
    createInterface({ input: child.stdout }).once("line", (line) => {
      if (!line.startsWith(READY)) reject(new Error(`unexpected first line: ${line}`));
      resolve({ child, url: line.slice(READY.length).trim() });
    });
  });
}

async function call(method, path, { token, body, headers = {} } = {}) {
  const sent = { ...headers };
  if (token) sent.Authorization = `Bearer ${token}`;
  if (body !== undefined) sent["Content-Type"] = "application/json";
  return fetch(base + path, { method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function token(scope = "api:academic:petitions:read api:academic:petitions:write") {
  const got = await call("POST", `/api/jwt?scope=${encodeURIComponent(scope)}`, { headers: { Authorization: "dev-readwrite" } });
  assert.equal(got.status, 200);
  return (await got.json()).jwt;
}

before(async () => {
  ({ child: server, url: base } = await startMock());
  await call("POST", "/_mock/clock/freeze");
});

after(() => server?.kill());

test("token, read, POST, poll until the task completes", async () => {
  await call("POST", "/_mock/reset");
  const jwt = await token();
  const read = await call("GET", "/api/academic/petitions?netid=f0027k4", { token: jwt });
  assert.equal(read.status, 200);
  assert.ok((await read.json()).every((petition) => petition.netid === "f0027k4"));

  const petition = { netid: "f006s0b", petition_code: "Q41", origin_code: "UREG", school: "UG",
    decision: "2023-2024", grade_term: "24W", user_netid: "f006s0b" };
  const posted = await call("POST", "/api/academic/petitions", { token: jwt, body: { petition } });
  assert.equal(posted.status, 202);
  const location = posted.headers.get("location");
  assert.match(location, /^\/api\/tasks\/[0-9a-f]{24}$/);

  let task = await (await call("GET", location, { token: jwt })).json();
  assert.equal(task.status, "accepted");
  await call("POST", "/_mock/clock/advance", { body: { seconds: 5 } });  // the task's time passes at once
  task = await (await call("GET", location, { token: jwt })).json();
  assert.equal(task.status, "complete");
  assert.match(task.message, /^Petition created successfully\./);
});

test("a scenario's failure and a retry, checked with POST /_mock/verify", async () => {
  await call("POST", "/_mock/reset");
  const switched = await call("PUT", "/_mock/scenario", { body: { name: "retry_then_succeed" } });
  assert.equal(switched.status, 200);
  const jwt = await token();
  const petition = { netid: "f006s0b", petition_code: "Q41", origin_code: "UREG", school: "UG",
    decision: "2023-2024", grade_term: "24W", user_netid: "f006s0b" };
  const first = await call("POST", "/api/academic/petitions", { token: jwt, body: { petition } });
  assert.equal(first.status, 503);
  const retry = await call("POST", "/api/academic/petitions", { token: jwt, body: { petition } });
  assert.equal(retry.status, 202);

  const verified = await call("POST", "/_mock/verify", { body: {
    match: { method: "POST", path: "/api/academic/petitions", body: { "petition.netid": "f006s0b" } }, times: 2 } });
  assert.deepEqual(await verified.json(), { ok: true, count: 2, matched: [2, 3], dropped: 0, near_misses: [] });

  const missed = await (await call("POST", "/_mock/verify", { body: {
    match: { method: "POST", path: "/api/academic/petitions", body: { "petition.netid": "f0027k4" } }, times: 1 } })).json();
  assert.equal(missed.ok, false);
  assert.deepEqual(missed.near_misses[0].differs, ["body.petition.netid: wanted f0027k4, got f006s0b"]);
});
