import { registerHooks } from 'node:module';

/**
 * client-node's `KubeConfig` without its generated API clients.
 *
 * The operator takes its kubeconfig and credentials from client-node (in-cluster service account, $KUBECONFIG,
 * client certificates, exec and auth providers, token refresh) and talks to the API server through its own JSON
 * client (kube-http-client.ts), so it never calls a generated API. Yet `@kubernetes/client-node` and its
 * `dist/config.js` import the generated `gen/index.js`, which loads every API group's client and every model:
 * about 40 MB of the operator's memory (their source and compiled code; docs/benchmarks.md), for two names. This module makes `dist/config.js` import those two names from the modules that define them
 * (client-node-gen-subset.ts) and nothing else: a resolve hook for that one import, from that one file. The
 * KubeConfig class and everything it runs stay client-node's own.
 *
 * Should a client-node release import more names there, loading this module fails at once with Node's
 * "does not provide an export named …" (kubeconfig.test.ts loads it in a real node process).
 * Under Jest, which has its own module loader, the hook does not apply and the whole package loads, as before.
 */
const subset = new URL('./client-node-gen-subset.js', import.meta.url).href;
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (
      specifier === './gen/index.js' &&
      context.parentURL?.endsWith('/@kubernetes/client-node/dist/config.js')
    ) {
      return { url: subset, shortCircuit: true };
    }
    return nextResolve(specifier, context);
  },
});

export const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
export type KubeConfig = InstanceType<typeof KubeConfig>;
