import type { Command } from 'commander';
import type { GlobalOptions } from '../main.js';
import { register as demo } from './demo.js';
import { register as importCmd } from './import.js';
import { register as lookup } from './lookup.js';
import { register as exportCmd } from './export.js';
import { register as stats } from './stats.js';
import { register as recompute } from './recompute.js';
import { register as privacy } from './privacy.js';
import { register as serve } from './serve.js';
import { register as sign } from './sign.js';
import { register as classifyCmd } from './classify.js';
import { register as rules } from './rules.js';
import { register as evalCmd } from './eval.js';
import { register as poll } from './poll.js';
import { register as configCmd } from './config.js';
import { register as certs } from './certs.js';

export type RegisterCommand = (program: Command, globals: () => GlobalOptions) => void;

/** Every CLI command, in help order. Add a command: write commands/<name>.ts, list it here. */
export const COMMANDS: RegisterCommand[] = [demo, importCmd, lookup, exportCmd, stats, recompute, privacy, certs, serve, sign, classifyCmd, rules, evalCmd, poll, configCmd];
