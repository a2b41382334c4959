import type { Command } from 'commander';
import type { GlobalOptions } from '../main.js';
import { register as poll } from './poll.js';
import { register as config } from './config.js';

export type RegisterCommand = (program: Command, globals: () => GlobalOptions) => void;

/** Every CLI command, in help order. Add a command: write commands/<name>.ts, list it here. */
export const COMMANDS: RegisterCommand[] = [poll, config];
