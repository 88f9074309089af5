// Stands in for the Provider framework's outbound.js: the same three exports,
// answered by the Python side through the bridge instead of AWS.
"use strict";
const bridge = () => global.__providerFrameworkBridge;

exports.invokeFunction = async (request) => {
  const reply = await bridge().call({ invoke: { FunctionName: request.FunctionName, Payload: request.Payload } });
  return { StatusCode: 200, FunctionError: reply.FunctionError, Payload: Buffer.from(reply.Payload, "utf8") };
};

exports.startExecution = async (request) => {
  bridge().send({ startExecution: request });
  return { executionArn: "arn:aws:states:us-east-1:111122223333:execution:waiter:run" };
};

exports.httpRequest = async (options, body) => {
  bridge().send({ response: { method: options.method, path: options.path, body } });
};
