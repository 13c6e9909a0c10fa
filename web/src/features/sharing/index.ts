export { SharePanel } from "./components/share-panel";
export { SharedWithMe } from "./components/shared-with-me";
