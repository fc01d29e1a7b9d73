/**
 * The gateway's web page: one card per part of the system, wired together
 * here. Built by esbuild into dist/apps/gateway/web (npm run build).
 */
import { Chat } from './chat.js';
import { setUpCheese } from './cheese.js';
import { MatchList } from './match-list.js';
import { Player } from './player.js';
import { setUpUpload } from './upload.js';

const player = new Player();
const chat = new Chat();
const matches = new MatchList((match) => {
  player.watch(match);
  chat.setRoom(match.id);
});

setUpUpload(() => matches.refresh());
void setUpCheese();
void matches.refresh();
