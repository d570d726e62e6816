// Nimbus's Node.js runtime interface client: speaks the Lambda Runtime API over one
// keep-alive connection, loads `file.export` handlers (CommonJS, .mjs, .cjs), supports async
// and callback-style handlers, and shapes errors as AWS's Node.js runtime does. Streaming
// handlers work as on AWS: the global `awslambda.streamifyResponse(handler)` marks one, it
// gets `(event, responseStream, context)`, and what it writes is sent to the Runtime API as
// it is written (a chunked POST .../response with Lambda-Runtime-Function-Response-Mode:
// streaming); an error after the response began ends it with AWS's error trailers.
// `awslambda.HttpResponseStream.from(stream, {statusCode, headers, cookies})` writes the HTTP
// prelude (JSON, then 8 NUL bytes) before the first write, as AWS's does.
'use strict';
const http = require('http');
const path = require('path');
const fs = require('fs');
const util = require('util');
const { pathToFileURL } = require('url');

const [HOST, PORT] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const BASE = '/2018-06-01/runtime';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let currentRequestId = null;

function call(method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: HOST, port: Number(PORT), method, path: BASE + urlPath, agent, headers: headers || {} },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function errorBody(err) {
  if (err instanceof Error) {
    return { errorType: err.name || 'Error', errorMessage: err.message,
      trace: typeof err.stack === 'string' ? err.stack.split('\n') : [] };
  }
  // AWS: non-Error values are reported as errorType "string"/"object" etc.
  return { errorType: typeof err, errorMessage: typeof err === 'string' ? err : JSON.stringify(err), trace: [] };
}

function logLevel(level) {
  return (...args) => {
    const line = util.format(...args).replace(/\n/g, '\r');
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId || 'undefined'}\t${level}\t${line}\n`);
  };
}
console.log = logLevel('INFO');
console.info = logLevel('INFO');
console.warn = logLevel('WARN');
console.error = logLevel('ERROR');
console.debug = logLevel('DEBUG');
console.trace = logLevel('TRACE');

function logError(body) {
  process.stdout.write(`${new Date().toISOString()}\t${currentRequestId || 'undefined'}\tERROR\t` +
    `${JSON.stringify(body)}\n`);
}

class HandlerError extends Error {
  constructor(type, message) { super(message); this.name = type; }
}

// What AWS's runtime (aws-lambda-nodejs-runtime-interface-client) marks a streaming handler
// with, so handlers marked by code that sets the symbol itself are recognised too.
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const STREAM_RESPONSE = 'response';
const HTTP_INTEGRATION = 'application/vnd.awslambda.http-integration-response';
const ERROR_TYPE_TRAILER = 'Lambda-Runtime-Function-Error-Type';
const ERROR_BODY_TRAILER = 'Lambda-Runtime-Function-Error-Body';

class HttpResponseStream {
  static from(underlying, prelude) {
    underlying.setContentType(HTTP_INTEGRATION);
    const metadata = JSON.stringify(prelude); // JSON never holds a NUL byte
    underlying._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(8));
    };
    return underlying;
  }
}

globalThis.awslambda = {
  streamifyResponse: (handler) => { handler[HANDLER_STREAMING] = STREAM_RESPONSE; return handler; },
  HttpResponseStream,
};

// The response stream a streaming handler writes to: the request itself, sent chunked.
function createResponseStream(requestId) {
  const req = http.request({
    host: HOST, port: Number(PORT), method: 'POST', agent,
    path: `${BASE}/invocation/${requestId}/response`,
    headers: {
      'Lambda-Runtime-Function-Response-Mode': 'streaming',
      'Transfer-Encoding': 'chunked',
      Trailer: `${ERROR_TYPE_TRAILER}, ${ERROR_BODY_TRAILER}`,
      'Content-Type': 'application/octet-stream',
    },
  });
  const done = new Promise((resolve, reject) => {
    req.on('response', (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', reject);
  });
  done.catch(() => {}); // a stream the Runtime API cut off (its size limit) is not a crash
  let started = false;
  const origWrite = req.write.bind(req);
  const origEnd = req.end.bind(req);
  const start = () => {
    if (started) return;
    started = true;
    if (typeof req._onBeforeFirstWrite === 'function') req._onBeforeFirstWrite((c) => origWrite(c));
  };
  req.setContentType = (contentType) => {
    if (started) throw new HandlerError('InvalidStreamingOperation', 'Cannot set content-type, too late.');
    req.setHeader('Content-Type', contentType);
  };
  req.write = (chunk, encoding, callback) => {
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) chunk = JSON.stringify(chunk);
    start();
    return origWrite(chunk, encoding, callback);
  };
  req.end = (chunk, encoding, callback) => {
    if (typeof chunk === 'function') return req.end(undefined, undefined, chunk);
    if (chunk !== undefined && chunk !== null) req.write(chunk, encoding);
    start();
    return origEnd(callback);
  };
  // Ends the stream with the error in trailers (AWS: a mid-stream error is forwarded as
  // the response's error metadata).
  req.fail = (err) => {
    const body = errorBody(err);
    logError(body);
    try {
      start();
      req.addTrailers({
        [ERROR_TYPE_TRAILER]: body.errorType,
        [ERROR_BODY_TRAILER]: Buffer.from(JSON.stringify(body)).toString('base64'),
      });
      origEnd();
    } catch (e) {
      req.destroy();
    }
  };
  return { stream: req, done };
}

async function runStreaming(fn, event, context, requestId) {
  const { stream, done } = createResponseStream(requestId);
  try {
    const out = fn(event, stream, context);
    if (!out || typeof out.then !== 'function') {
      stream.fail('Streaming does not support non-async handlers.');
    } else {
      const result = await out;
      if (result !== undefined) console.warn('Streaming handlers ignore return values.');
      if (!stream.writableEnded) stream.fail(new HandlerError('Runtime.InvalidStreamingOperation', 'Response stream is not finished.'));
    }
  } catch (e) {
    if (stream.writableEnded) logError(errorBody(e)); else stream.fail(e);
  }
  await done.catch(() => {});
}

async function loadHandler() {
  const taskRoot = process.env.LAMBDA_TASK_ROOT || '/var/task';
  const handler = process.env._HANDLER || '';
  const slash = handler.lastIndexOf('/');
  const dir = handler.slice(0, slash + 1);
  const rest = handler.slice(slash + 1);
  const dot = rest.indexOf('.');
  if (dot < 0) throw new HandlerError('Runtime.MalformedHandlerName', "Bad handler");
  const moduleName = dir + rest.slice(0, dot);
  const exportPath = rest.slice(dot + 1).split('.');
  const base = path.resolve(taskRoot, moduleName);
  let mod;
  try {
    if (fs.existsSync(base + '.mjs')) {
      mod = await import(pathToFileURL(base + '.mjs').href);
    } else if (fs.existsSync(base + '.cjs')) {
      mod = require(base + '.cjs');
    } else {
      try {
        mod = require(base);
      } catch (e) {
        if (e && e.code === 'ERR_REQUIRE_ESM') mod = await import(pathToFileURL(base + '.js').href);
        else throw e;
      }
    }
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(base)) {
      throw new HandlerError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
    }
    if (e instanceof SyntaxError) {
      throw new HandlerError('Runtime.UserCodeSyntaxError', `${e.name}: ${e.message}`);
    }
    throw e;
  }
  let fn = mod;
  for (const part of exportPath) fn = fn == null ? undefined : fn[part];
  if (fn === undefined && mod && mod.default) {
    fn = mod.default;
    for (const part of exportPath) fn = fn == null ? undefined : fn[part];
  }
  if (typeof fn !== 'function') {
    throw new HandlerError('Runtime.HandlerNotFound', `${moduleName}.${exportPath.join('.')} is undefined or not exported`);
  }
  return fn;
}

function makeContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const parse = (v) => { try { return v ? JSON.parse(v) : undefined; } catch (e) { return undefined; } };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parse(headers['lambda-runtime-cognito-identity']),
    clientContext: parse(headers['lambda-runtime-client-context']),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function runHandler(fn, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err); else resolve(result);
    };
    context.done = done;
    context.succeed = (r) => done(null, r);
    context.fail = (e) => done(e === undefined || e === null ? new Error('handled') : e);
    try {
      const out = fn(event, context, done);
      if (out && typeof out.then === 'function') out.then((r) => done(null, r), (e) => done(e || new Error('Promise rejected')));
      else if (fn.length < 3) done(null, out);
    } catch (e) {
      done(e);
    }
  });
}

async function postError(requestId, err) {
  const body = errorBody(err);
  logError(body);
  const raw = JSON.stringify(body);
  const target = requestId ? `/invocation/${requestId}/error` : '/init/error';
  await call('POST', target, raw, { 'Content-Type': 'application/json', 'Lambda-Runtime-Function-Error-Type': body.errorType });
}

process.on('uncaughtException', async (err) => {
  try { await postError(currentRequestId, err); } finally { process.exit(129); }
});
process.on('unhandledRejection', async (reason) => {
  const err = new HandlerError('Runtime.UnhandledPromiseRejection', String(reason && reason.stack || reason));
  try { await postError(currentRequestId, err); } finally { process.exit(128); }
});

async function main() {
  let fn;
  try {
    fn = await loadHandler();
  } catch (e) {
    await postError(null, e);
    process.exit(1);
  }
  for (;;) {
    const next = await call('GET', '/invocation/next');
    const requestId = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = requestId;
    if (next.headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    let event;
    try {
      event = next.body.length ? JSON.parse(next.body.toString('utf8')) : {};
    } catch (e) {
      await postError(requestId, new HandlerError('Runtime.UnmarshalError', `Unable to parse input as json: ${e.message}`));
      continue;
    }
    if (fn[HANDLER_STREAMING] === STREAM_RESPONSE) {
      await runStreaming(fn, event, makeContext(next.headers), requestId);
      continue;
    }
    try {
      const result = await runHandler(fn, event, makeContext(next.headers));
      const raw = result === undefined ? 'null' : JSON.stringify(result);
      await call('POST', `/invocation/${requestId}/response`, raw === undefined ? 'null' : raw, { 'Content-Type': 'application/json' });
    } catch (e) {
      await postError(requestId, e);
    }
  }
}

main();
