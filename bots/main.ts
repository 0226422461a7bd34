/** `npm start`: the process entry. Reads the environment and runs Baton (bots/run.ts) until SIGINT/SIGTERM. */
import { loadConfigOrExit, runBaton } from './run.js';

void runBaton(loadConfigOrExit());
