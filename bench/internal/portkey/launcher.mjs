// Starts the Portkey gateway for tollgate-bench (bench/README.md):
//   node launcher.mjs --port=<port> --headless
// from the directory npm installed the gateway into. The gateway reads
// --port and --headless itself.
import net from 'node:net';
import { Agent, setGlobalDispatcher } from 'undici';

// The gateway calls providers with the global fetch. Its default
// dispatcher ends a response whose body pauses for longer than its body
// timeout, which cuts off a stream: none, as a provider's client would.
setGlobalDispatcher(new Agent({ bodyTimeout: 0, headersTimeout: 0 }));

// The gateway listens on every interface and takes no host: a port alone
// binds to loopback here, as the benchmark's other processes do.
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') {
    args.splice(1, args[1] === undefined ? 1 : 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};

await import('@portkey-ai/gateway/build/start-server.js');
