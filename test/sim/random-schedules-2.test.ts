/** Part 2 of the random-schedule property (see scheduleProperty in random-schedule.ts). */
import { scheduleProperty } from './random-schedule.js';

scheduleProperty(2);
