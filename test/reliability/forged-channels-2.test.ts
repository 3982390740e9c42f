// Half of the webhook channels' forged-input barrage (forged-channels.ts); the other half is in forged-channels-1.test.ts.
import { describeForgedChannels } from './forged-channels';

describeForgedChannels(2, 2);
