import { jest } from '@jest/globals';

// Integration tests start real processes and wait for real controllers; jest's `testTimeout` is a global option,
// so the integration project sets its own here.
jest.setTimeout(120_000);
