// SPDX-License-Identifier: GPL-2.0
/*
 * vmlab.ko: your module. See the lab handout (vmlab lab show kernel-module, or
 * Labs/kernel-module/README.md) for the interface /dev/vmlab must offer.
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>

static int key;
module_param(key, int, 0444);
MODULE_PARM_DESC(key, "XOR key of every byte read back (1-255)");

static int bufsize = 256;
module_param(bufsize, int, 0444);
MODULE_PARM_DESC(bufsize, "bytes the device holds");

static int __init vmlab_init(void)
{
	/* TODO: check the parameters, create the vmlab_ctx cache, allocate the buffer,
	 * register the misc device "vmlab". */
	return -ENODEV;
}

static void __exit vmlab_exit(void)
{
	/* TODO: undo everything vmlab_init did, in reverse order. */
}

module_init(vmlab_init);
module_exit(vmlab_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vmlab kernel-module lab");
