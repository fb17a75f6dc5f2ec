import { createApp } from "./app";

export { DocRoom } from "./room/doc-room";

export default createApp();
