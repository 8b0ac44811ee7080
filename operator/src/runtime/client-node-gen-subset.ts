// What client-node's KubeConfig (dist/config.js) imports from its generated code, from the modules that define it.
// kubeconfig.ts serves this module in place of dist/gen/index.js, which would also load every generated API and
// model. The objects are the same ones gen/index.js exports.
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
