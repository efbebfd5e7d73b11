/**
 * Layer filesystems over HostFs: apply a layer tar, compute changes between a layer and its
 * parent, export them as a layer tar, copy trees. Shared by every storage driver.
 */
export { applyLayer } from './apply-layer';
export { applyLayerAtomically, copyTree, recoverStagedApplies } from './copy-tree';
export { layerChanges, changesSize, asDockerChanges, type LayerChange } from './changes';
export { exportLayer } from './export-layer';
export { memberRelPath, checkSymlinkTarget } from './member-path';
export { abs, lstatOrNull, makedev, devMajor, devMinor, LAYER_ID_PATTERN, type Tree } from './tree';
export { fullTreeFormat, overlayFormat, isContentXattr, OVERLAY_OPAQUE_XATTR, type WhiteoutFormat } from './whiteouts';
export { LayerDriver, type DeferredDurability } from './layer-driver';
export { FullCopyDriver } from './full-copy-driver';
