/**
 * The version of ddm, read once from the root `package.json` (the bundler inlines it into the
 * compiled binary), and the User-Agent built from it.
 */
import rootPackage from '../../../package.json' with { type: 'json' };

/** ddm's version, e.g. `0.1.0`. */
export const DDM_VERSION: string = rootPackage.version;

/** The User-Agent sent unless `user_agent` or a header says otherwise: `ddm/0.1.0`. */
export const DEFAULT_USER_AGENT = `ddm/${DDM_VERSION}`;
