// Runs the CDK Provider framework's own runtime (framework.js and its helpers, as
// shipped in aws-cdk-lib) with only its outbound calls replaced: invoking a user
// function, starting the waiter and answering CloudFormation travel as JSON lines
// to the Python side on stdout; replies come back on stdin. Everything else,
// framework.js, cfn-response.js, util.js and consts.js, runs as it is.
"use strict";
const readline = require("readline");

const runtime = process.argv[2];
const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");
// The framework logs with console.log: keep stdout for the protocol.
console.log = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");

const replies = [];
let waiting = null;
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line);
  if (message.reply !== undefined) {
    if (waiting) { const w = waiting; waiting = null; w(message.reply); } else { replies.push(message.reply); }
    return;
  }
  run(message).catch((e) => send({ done: { error: String(e && e.stack || e) } }));
});

global.__providerFrameworkBridge = {
  send,
  call(message) {
    send(message);
    return new Promise((resolve) => {
      if (replies.length) { resolve(replies.shift()); } else { waiting = resolve; }
    });
  },
};

process.env.USER_ON_EVENT_FUNCTION_ARN = "arn:aws:lambda:us-east-1:111122223333:function:user-on-event";
process.env.USER_IS_COMPLETE_FUNCTION_ARN = "arn:aws:lambda:us-east-1:111122223333:function:user-is-complete";
process.env.WAITER_STATE_MACHINE_ARN = "arn:aws:states:us-east-1:111122223333:stateMachine:waiter";
const framework = require(runtime + "/framework.js");

async function run({ op, event }) {
  try {
    await framework[op](event);
    send({ done: { retry: false } });
  } catch (e) {
    // Only Retry escapes framework.js: Step Functions would call isComplete again.
    send({ done: { retry: e && e.constructor && e.constructor.name === "Retry", error: e.message } });
  }
}
