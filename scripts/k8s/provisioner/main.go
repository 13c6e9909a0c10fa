// provisioner gives the test cluster a default StorageClass: each claim gets a directory on this machine as a
// hostPath volume, removed when the volume is released. One node, so a directory is as good as a disk; what the
// hub sees (a claim that binds, a volume that outlives the pod and goes with the claim) is what a cloud gives.
package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"

	core "k8s.io/api/core/v1"
	meta "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v11/controller"
)

const ownerAnnotation = "ganymede.test/provisioned-by"

type directories struct{ root, name string }

func (d *directories) Provision(_ context.Context, o controller.ProvisionOptions) (*core.PersistentVolume, controller.ProvisioningState, error) {
	dir := filepath.Join(d.root, o.PVC.Namespace+"-"+o.PVC.Name+"-"+o.PVName)
	// World-writable like a fresh filesystem's root: the pod's fsGroup and non-root user must be able to write it.
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	reclaim := core.PersistentVolumeReclaimDelete
	if o.StorageClass.ReclaimPolicy != nil {
		reclaim = *o.StorageClass.ReclaimPolicy
	}
	kind := core.HostPathDirectory
	return &core.PersistentVolume{
		ObjectMeta: meta.ObjectMeta{Name: o.PVName, Annotations: map[string]string{ownerAnnotation: d.name}},
		Spec: core.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: reclaim,
			AccessModes:                   o.PVC.Spec.AccessModes,
			Capacity:                      core.ResourceList{core.ResourceStorage: o.PVC.Spec.Resources.Requests[core.ResourceStorage]},
			PersistentVolumeSource:        core.PersistentVolumeSource{HostPath: &core.HostPathVolumeSource{Path: dir, Type: &kind}},
			StorageClassName:              o.StorageClass.Name,
		},
	}, controller.ProvisioningFinished, nil
}

func (d *directories) Delete(_ context.Context, pv *core.PersistentVolume) error {
	if pv.Annotations[ownerAnnotation] != d.name || pv.Spec.HostPath == nil {
		return &controller.IgnoredError{Reason: "not provisioned here"}
	}
	return os.RemoveAll(pv.Spec.HostPath.Path)
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	root := flag.String("dir", "", "directory that holds the volumes")
	name := flag.String("name", "ganymede.test/hostpath", "provisioner name the StorageClass refers to")
	klog.InitFlags(nil)
	flag.Parse()
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Fatal(err)
	}
	ctx := context.Background()
	controller.NewProvisionController(ctx, kubernetes.NewForConfigOrDie(config), *name,
		&directories{root: *root, name: *name}, controller.LeaderElection(false)).Run(ctx)
}
