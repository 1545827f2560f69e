import { wait, type Toxic } from './types.js';

/** slow_close: when the source closes, the close is passed on `delay` ms later. */
export const slowClose: Toxic = {
  defaults: { delay: 0 },
  async beforeEnd({ config, stop }) {
    await wait(config.attributes.delay ?? 0, stop);
  },
};
