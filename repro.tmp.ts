import { loadDefaultPlaybook } from './src/playbook/load.ts';
